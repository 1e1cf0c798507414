"""Validation records, field-compatible with V2's JSON (plus a few driftdoc extensions).

V2 nests ``dependencies`` (install outcome) and ``execution`` (run outcome) under a top-level
``status_code`` of ``Success``/``Failed``/``Timeout``. ``to_v2_json()`` returns exactly that shape
(a JSON-ready ``dict``) with driftdoc's extra fields added under ``execution`` and at the top;
V2 consumers ignore unknown keys. ``ValidationRecord.from_v2_json`` reads it back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from driftdoc.env.toolchain.installer import InstallError

SUCCESS = "Success"
FAILED = "Failed"
TIMEOUT = "Timeout"
EXCEPTION = "Exception"

StackFrame = tuple[str, int, str, str]


@dataclass
class DependencyResult:
    status_code: str = SUCCESS
    install_errors: list[InstallError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"status_code": self.status_code,
                "install_errors": [e.to_json() for e in self.install_errors]}


@dataclass
class ExecutionResult:
    """How the snippet ran. The V2 fields come first; the rest are driftdoc's extensions."""

    status_code: str = SUCCESS  # Success | Exception | Timeout | NotRun
    exception_name: str | None = None
    exception_message: str | None = None
    exception_file_name: str | None = None
    exception_line_number: int | None = None
    exception_line: str | None = None
    exception_stack: list[StackFrame] = field(default_factory=list)
    # -- extensions --
    imports_completed: bool = False
    imports_inferred: bool = False  # timed out between imports; the rest would be found
    raised_in_package: bool = False
    raising_module: str | None = None  # top-level import name whose frame raised
    raising_distribution: str | None = None  # distribution owning that frame, when known
    called_module: str | None = None  # TypeError/AttributeError on the snippet's own line:
    called_distribution: str | None = None  # the package it called, and its distribution
    missing_module: str | None = None  # ImportError: the module that could not be imported
    exit_code: int | None = None  # SystemExit code / process exit status
    timeout_phase: str | None = None  # "imports" | "grace" | "total" when status is Timeout
    killed_by: str | None = None  # limit that ended the run: timeout|memory|disk|processes
    duration: float = 0.0
    stdout_tail: str = ""
    stderr_tail: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exception_stack"] = [list(f) for f in self.exception_stack]
        return data


@dataclass
class ValidationRecord:
    """One validation: install outcome + execution outcome, in V2's shape."""

    status_code: str
    dependencies: DependencyResult
    execution: ExecutionResult
    python: str | None = None
    pins: list[str] = field(default_factory=list)
    snippet: str | None = None
    env_path: str | None = None
    seconds: float = 0.0
    sandbox: dict[str, Any] | None = None  # mode (bwrap | none), limiter, peaks, killed_by

    def to_v2_json(self) -> dict[str, Any]:
        """A JSON-ready dict in V2's validation-record shape (extensions included)."""
        return {
            "status_code": self.status_code,
            "dependencies": self.dependencies.to_json(),
            "execution": self.execution.to_json(),
            "python": self.python,
            "pins": list(self.pins),
            "snippet": self.snippet,
            "env_path": self.env_path,
            "seconds": round(self.seconds, 4),
            "sandbox": self.sandbox,
        }

    @classmethod
    def from_v2_json(cls, data: dict[str, Any]) -> ValidationRecord:
        deps = data.get("dependencies") or {}
        errors = [
            InstallError(e.get("requirement"), e.get("message", "")) if isinstance(e, dict)
            else InstallError(None, str(e))
            for e in deps.get("install_errors", [])
        ]
        ex = dict(data.get("execution") or {})
        known = set(ExecutionResult.__dataclass_fields__)
        ex = {k: v for k, v in ex.items() if k in known}
        ex["exception_stack"] = [
            (str(f[0]), int(f[1]), str(f[2]), str(f[3] or ""))
            for f in ex.get("exception_stack", [])
        ]
        return cls(
            status_code=data.get("status_code", FAILED),
            dependencies=DependencyResult(deps.get("status_code", SUCCESS), errors),
            execution=ExecutionResult(**ex),
            python=data.get("python"),
            pins=list(data.get("pins") or []),
            snippet=data.get("snippet"),
            env_path=data.get("env_path"),
            seconds=float(data.get("seconds") or 0.0),
            sandbox=data.get("sandbox") if isinstance(data.get("sandbox"), dict) else None,
        )

    @classmethod
    def install_failed(cls, errors: list[InstallError], **kw: Any) -> ValidationRecord:
        """The record for an environment that could not be built (snippet not run)."""
        return cls(status_code=FAILED, dependencies=DependencyResult(FAILED, errors),
                   execution=ExecutionResult(status_code="NotRun"), **kw)
