"""The real Validator: resolve -> build -> sandboxed run -> classify, reduced to a Verdict."""

from __future__ import annotations

import time
from pathlib import Path

from driftdoc.env.host.cache import leased
from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.bounded import deadline as build_deadline
from driftdoc.env.toolchain.build import using_env
from driftdoc.env.toolchain.installer import InstallError
from driftdoc.env.toolchain.resolve import resolve
from driftdoc.env.toolchain.syspkgs import (
    SystemPackagesError,
    SystemRoot,
    ensure_root,
    root_key,
)
from driftdoc.env.validation.failure import classify, verdict_fields
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
        with using_env(attempt.python, res.pins, index_url=self.index_url,
                       system=system) as env:
            record = validate(self.snippet, env, timeout=self.timeout,
                              memory_mb=self.memory_mb, sandbox=self.sandbox)
        record.seconds = time.perf_counter() - start
        verdict = to_verdict(record, self.snippet, list(res.pins))
        verdict.build_constraints = list(env.build_constraints)
        verdict.lenient = list(res.lenient)
        return verdict
