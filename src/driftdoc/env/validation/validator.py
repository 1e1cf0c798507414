"""The real Validator: resolve -> build -> sandboxed run -> classify, reduced to a Verdict."""

from __future__ import annotations

import re
import time
from pathlib import Path

from driftdoc.env.toolchain.blame import failing_requirement
from driftdoc.env.toolchain.bounded import deadline as build_deadline
from driftdoc.env.toolchain.build import ensure_env
from driftdoc.env.toolchain.installer import InstallError
from driftdoc.env.toolchain.resolve import resolve
from driftdoc.env.toolchain.syspkgs import SystemPackagesError, SystemRoot, ensure_root
from driftdoc.env.validation.classify import Category, Classification, classify
from driftdoc.env.validation.records import ValidationRecord
from driftdoc.env.validation.validate import validate
from driftdoc.env.validation.verdict import (
    DRIFT,
    IMPORT,
    INSTALL,
    SNIPPET,
    SNIPPET_ATTR,
    SUCCESS,
    SYNTAX,
    TIMEOUT,
    TIMEOUT_IMPORTS,
    Attempt,
    Verdict,
)

_KIND = {
    Category.INSTALL_FAILURE: INSTALL,
    Category.SYNTAX_ERROR: SYNTAX,
    Category.IMPORT_ERROR: IMPORT,
    Category.PACKAGE_ERROR: DRIFT,
    Category.SNIPPET_ERROR: SNIPPET,
    Category.TIMEOUT_AFTER_IMPORTS: TIMEOUT_IMPORTS,
    Category.TIMEOUT_BEFORE_IMPORTS: TIMEOUT,
    Category.SUCCESS: SUCCESS,
}


_DRIFT_EXCEPTIONS = frozenset({"AttributeError", "TypeError", "ImportError",
                               "ModuleNotFoundError", "SyntaxError", "NameError"})
_BINARY_DRIFT = re.compile(r"binary incompatib|compiled against|API version|undefined symbol|"
                           r"size changed|numpy\.core\.multiarray failed", re.IGNORECASE)


def drift_like(name: str | None, message: str | None) -> bool:
    """Does an exception raised inside a package look like drift between releases?"""
    return name in _DRIFT_EXCEPTIONS or bool(_BINARY_DRIFT.search(message or ""))


_IMPORTED = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import|import\s+([\w.]+))")


def full_module(missing: str | None, line: str | None) -> str | None:
    """Python 2 names only the last part ("No module named cross_validation"); the
    import statement on the failing line has the dotted path (sklearn.cross_validation)."""
    if not missing or not line:
        return missing
    m = _IMPORTED.match(line)
    path = (m.group(1) or m.group(2)) if m else None
    if path and path.endswith("." + missing):
        return path
    return missing


def snippet_line(record: ValidationRecord, name: str) -> int | None:
    """The deepest line of the snippet's own file in the failing stack (the checkpoint)."""
    script = Path(name).stem + ".py"
    line = None
    for frame in record.execution.exception_stack:
        file = str(frame[0])
        if "-packages" in file:
            continue
        if Path(file).name == script:
            line = int(frame[1])
    if line is None and record.execution.exception_file_name and \
            Path(record.execution.exception_file_name).name == script:
        line = record.execution.exception_line_number
    return line


def to_verdict(record: ValidationRecord, cls: Classification, snippet: Path,
               pins: list[str]) -> Verdict:
    """Reduce a record and its classification to what the repair search reasons about."""
    ex = record.execution
    kind = _KIND.get(cls.category)
    if kind is None:  # a crash: fine if the imports were done, else blame the packages
        kind = SNIPPET if ex.imports_completed else DRIFT
    if kind == SNIPPET and ex.exception_name == "AttributeError":
        kind = SNIPPET_ATTR  # the field's criterion fails it: worth trying older releases
    if kind == DRIFT and not drift_like(ex.exception_name, ex.exception_message):
        # e.g. Django's ImproperlyConfigured, "no display": the package wants configuration
        # the snippet never gave it; older releases will not help
        kind = SNIPPET
    failed = None
    if kind == INSTALL:
        errors = record.dependencies.install_errors
        failed = next((e.requirement for e in errors if e.requirement), None) or cls.responsible
    responsible = ex.raising_distribution or cls.responsible or ex.raising_module
    missing = full_module(ex.missing_module, ex.exception_line)
    return Verdict(
        kind=kind,
        pins=pins,
        exception_name=ex.exception_name,
        exception_message=ex.exception_message,
        line=snippet_line(record, snippet.name),
        missing_module=missing,
        responsible=responsible,
        failed_requirement=failed,
        imports_completed=ex.imports_completed,
        in_package=ex.raised_in_package,
        record=record.to_v2_json(),
        seconds=record.seconds,
        note=cls.reason,
    )


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
                verdict = to_verdict(record, classify(record), self.snippet, [])
                verdict.note = str(exc)
                return verdict
        res = resolve(attempt.python, list(attempt.requirements), as_of=attempt.as_of,
                      index_url=self.index_url, system=system)
        if not res.ok:
            error = res.error or "resolution failed"
            failing = failing_requirement(error, list(attempt.requirements))
            record = ValidationRecord.install_failed(
                [InstallError(failing, "resolution failed:\n" + error)], python=attempt.python,
                pins=[], snippet=str(self.snippet))
            record.seconds = time.perf_counter() - start
            verdict = to_verdict(record, classify(record), self.snippet, [])
            verdict.failed_requirement = failing or verdict.failed_requirement
            verdict.note = error[-500:]
            return verdict
        env = ensure_env(attempt.python, res.pins, index_url=self.index_url, system=system)
        record = validate(self.snippet, env, timeout=self.timeout, memory_mb=self.memory_mb,
                          sandbox=self.sandbox)
        record.seconds = time.perf_counter() - start
        verdict = to_verdict(record, classify(record), self.snippet, list(res.pins))
        verdict.build_constraints = list(env.build_constraints)
        return verdict
