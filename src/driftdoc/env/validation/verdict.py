"""The seam between the repair search and validation: an Attempt in, a Verdict out.

The search reasons only about Verdicts, so it can be tested against a fake
validator with a known ground truth, and the real one (resolve -> build ->
sandboxed run -> classify) plugs in behind the same protocol.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Protocol

from driftdoc.env.toolchain.syspkgs import LAYOUT

# Classification kinds, in the order a snippet gets through them.
INSTALL = "install-failure"
SYNTAX = "syntax-error"
IMPORT = "import-error"
DRIFT = "package-error"  # AttributeError/TypeError raised from package code
SNIPPET_ATTR = "snippet-attribute-error"  # AttributeError in the snippet's own frame
SNIPPET = "snippet-error"  # the snippet's own code failed: environment fine
TIMEOUT_IMPORTS = "timeout-after-imports"  # environment fine
TIMEOUT = "timeout"  # before the imports completed
SUCCESS = "success"

ENV_OK = frozenset({SNIPPET, TIMEOUT_IMPORTS, SUCCESS})
_FAILING_EXCEPTIONS = frozenset({"AttributeError", "ImportError", "ModuleNotFoundError",
                                 "SyntaxError"})


@dataclass(frozen=True)
class Attempt:
    """One environment to try: a Python, direct requirements, and a date horizon."""

    python: str
    requirements: tuple[str, ...]  # "name" (newest allowed) or "name==version"
    as_of: dt.date | None = None
    system: tuple[str, ...] = ()  # Debian packages unpacked for the build and the run

    def key(self) -> dict[str, str]:
        """Flat, JSON-friendly parameters (the Instance the store memoises)."""
        out = {"python": self.python, "as_of": self.as_of.isoformat() if self.as_of else "latest"}
        for req in self.requirements:
            name, _, version = req.partition("==")
            out[f"pkg:{name.lower()}"] = version or "latest"
        for package in self.system:  # absent when empty: older memo keys stay valid
            out[f"sys:{package}"] = "yes"
        if self.system:  # a prefix unpacked another way may build what failed before
            out["sys-layout"] = str(LAYOUT)
        return out


@dataclass
class Verdict:
    """What one validation said, reduced to what the search needs."""

    kind: str
    pins: list[str] = field(default_factory=list)  # the full resolved set
    exception_name: str | None = None
    exception_message: str | None = None
    line: int | None = None  # deepest line in the snippet's own file
    missing_module: str | None = None
    responsible: str | None = None  # distribution or top-level module blamed
    failed_requirement: str | None = None  # install failures
    imports_completed: bool = False
    in_package: bool = False
    record: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""
    build_constraints: list[str] = field(default_factory=list)  # the env's build needed them

    @property
    def ok(self) -> bool:
        return self.kind in ENV_OK

    @property
    def passes(self) -> bool:
        """The field's pass criterion: installs, no Syntax/Import/AttributeError."""
        if self.kind in (INSTALL, SYNTAX, IMPORT, TIMEOUT):
            return False
        return self.exception_name not in _FAILING_EXCEPTIONS

    def progress(self) -> tuple[int, int, int]:
        """How far the snippet got: later is better (V2's checkpoint idea)."""
        stage = {INSTALL: 0, SYNTAX: 1, TIMEOUT: 2, IMPORT: 3, DRIFT: 4, SNIPPET_ATTR: 4,
                 SNIPPET: 6, TIMEOUT_IMPORTS: 7, SUCCESS: 8}.get(self.kind, 0)
        return (int(self.imports_completed), self.line or 0, stage)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "pins": self.pins, "exception_name": self.exception_name,
            "exception_message": self.exception_message, "line": self.line,
            "missing_module": self.missing_module, "responsible": self.responsible,
            "failed_requirement": self.failed_requirement,
            "imports_completed": self.imports_completed, "in_package": self.in_package,
            "record": self.record, "seconds": self.seconds, "note": self.note,
            "build_constraints": self.build_constraints,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            kind=str(data["kind"]),
            pins=list(data.get("pins") or []),
            exception_name=data.get("exception_name"),
            exception_message=data.get("exception_message"),
            line=data.get("line"),
            missing_module=data.get("missing_module"),
            responsible=data.get("responsible"),
            failed_requirement=data.get("failed_requirement"),
            imports_completed=bool(data.get("imports_completed")),
            in_package=bool(data.get("in_package")),
            record=dict(data.get("record") or {}),
            seconds=float(data.get("seconds") or 0.0),
            note=str(data.get("note") or ""),
            build_constraints=[str(c) for c in data.get("build_constraints") or []],
        )


class Validator(Protocol):
    """Builds the attempt's environment and runs the snippet in it."""

    def check(self, attempt: Attempt) -> Verdict: ...
