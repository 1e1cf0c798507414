"""The real Validator: resolve -> build -> sandboxed run -> classify, reduced to a Verdict.

Without a GPU here, GPU-only distributions a parent declares are left out of the build
(:mod:`~driftdoc.env.toolchain.gpu_only`); a run that fails for want of them is run again
with them, so a verdict always stands for the environment it names.
"""

from __future__ import annotations

import time
from pathlib import Path

from driftdoc.env.host.cache import leased
from driftdoc.env.toolchain import gpu_only
from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.bounded import deadline as build_deadline
from driftdoc.env.toolchain.build import using_env
from driftdoc.env.toolchain.gpu_only import LeftOut
from driftdoc.env.toolchain.installer import InstallError, Resolution
from driftdoc.env.toolchain.resolve import resolve
from driftdoc.env.toolchain.syspkgs import (
    SystemPackagesError,
    SystemRoot,
    ensure_root,
    root_key,
)
from driftdoc.env.validation.failure import Kind, classify, verdict_fields
from driftdoc.env.validation.records import ValidationRecord
from driftdoc.env.validation.validate import validate
from driftdoc.env.validation.verdict import Attempt, Verdict


def to_verdict(record: ValidationRecord, snippet: Path, pins: list[str], *,
               failed: str | None = None, note: str | None = None) -> Verdict:
    """What a validation reports to the search: the record's verdict fields, read once."""
    fields = verdict_fields(record, classify(record), snippet)
    if failed:
        fields["failed_requirement"] = failed
    if note is not None:
        fields["note"] = note
    return Verdict(pins=pins, record=record.to_v2_json(), seconds=record.seconds, **fields)


class SandboxValidator:
    """Checks attempts for one snippet; safe to call from several threads."""

    def __init__(self, snippet: Path, *, index_url: str | None = None, timeout: float = 20.0,
                 sandbox: str = "bwrap", memory_mb: int | None = 2048,
                 deadline: float | None = None) -> None:
        self.snippet = snippet
        self.deadline = deadline
        self.index_url = index_url
        self.timeout = timeout
        self.sandbox = sandbox
        self.memory_mb = memory_mb

    def check(self, attempt: Attempt) -> Verdict:
        with build_deadline(self.deadline):
            return self._check(attempt)

    def _check(self, attempt: Attempt) -> Verdict:
        # the system prefix is bound into builds and runs: the cache bound must not remove it
        with leased([f"sysroot-{root_key(attempt.system)}"] if attempt.system else []):
            return self._check_leased(attempt)

    def _check_leased(self, attempt: Attempt) -> Verdict:
        start = time.perf_counter()
        system: SystemRoot | None = None
        if attempt.system:
            try:
                system = ensure_root(attempt.system)
            except SystemPackagesError as exc:
                record = ValidationRecord.install_failed(
                    [InstallError(None, str(exc))], python=attempt.python, pins=[],
                    snippet=str(self.snippet))
                record.seconds = time.perf_counter() - start
                return to_verdict(record, self.snippet, [], note=str(exc))
        res = resolve(attempt.python, list(attempt.requirements), as_of=attempt.as_of,
                      index_url=self.index_url, system=system)
        if not res.ok:
            error = res.error or "resolution failed"
            failing = failing_requirement(error, list(attempt.requirements))
            record = ValidationRecord.install_failed(
                [InstallError(failing, "resolution failed:\n" + error)], python=attempt.python,
                pins=[], snippet=str(self.snippet))
            record.seconds = time.perf_counter() - start
            return to_verdict(record, self.snippet, [], failed=failing, note=error[-500:])
        lean = self._lean(attempt, res.pins, system)
        if lean is not None:
            left, lean_res, names = lean
            verdict = self._run(attempt, lean_res, system, names)
            if not needs_left_out(verdict, left):
                verdict.left_out = left
                return _timed(verdict, start)
        return _timed(self._run(attempt, res, system, []), start)  # all it declares

    def _lean(self, attempt: Attempt, pins: list[str], system: SystemRoot | None
              ) -> tuple[list[LeftOut], Resolution, list[str]] | None:
        """(what is left out, the resolution without it, the names overridden) when a
        GPU-only distribution may be left out of ``pins`` here; ``None`` to validate them
        whole."""
        if not gpu_only.enabled():
            return None
        names = gpu_only.candidates(pins, attempt.requirements)
        if not names:
            return None
        res = resolve(attempt.python, list(attempt.requirements), as_of=attempt.as_of,
                      index_url=self.index_url, system=system, without=names)
        left = gpu_only.left_out(pins, res.pins, names) if res.ok else None
        return None if left is None else (left, res, names)

    def _run(self, attempt: Attempt, res: Resolution, system: SystemRoot | None,
             without: list[str]) -> Verdict:
        with using_env(attempt.python, res.pins, index_url=self.index_url, system=system,
                       without=without) as env:
            record = validate(self.snippet, env, timeout=self.timeout,
                              memory_mb=self.memory_mb, sandbox=self.sandbox)
        verdict = to_verdict(record, self.snippet, list(res.pins))
        verdict.build_constraints = list(env.build_constraints)
        verdict.lenient = list(res.lenient)
        return verdict


def _timed(verdict: Verdict, start: float) -> Verdict:
    """The verdict with the whole check's time (resolutions and builds included)."""
    verdict.seconds = time.perf_counter() - start
    verdict.record["seconds"] = round(verdict.seconds, 4)
    return verdict


def needs_left_out(verdict: Verdict, left: list[LeftOut]) -> bool:
    """Whether a run without ``left`` failed in a way their absence may explain (then it is
    validated again with them): a shared library or the interpreter failed while importing,
    or the failure names one of them. A clean run, or a failure that says nothing of them,
    stands for the environment without them."""
    if verdict.kind in (Kind.SUCCESS, Kind.TIMEOUT_IMPORTS):
        return False
    died = verdict.kind not in (Kind.INSTALL, Kind.TIMEOUT) and not verdict.exception_name \
        and not verdict.imports_completed
    return gpu_only.implicated(left, verdict.exception_name, verdict.exception_message,
                               verdict.missing_module, verdict.responsible, verdict.note,
                               missing=verdict.missing_module,
                               broke_loading=died or verdict.failure.shared_library)
