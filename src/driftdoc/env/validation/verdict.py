"""The seam between the repair search and validation: an Attempt in, a Verdict out.

The search reasons only about a Verdict's :class:`~driftdoc.env.validation.failure.Failure`
(read once from the fields a validation reports), so it can be tested against a fake
validator with a known ground truth, and the real one (resolve -> build -> sandboxed run
-> classify) plugs in behind the same protocol.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

from driftdoc.env.toolchain.gpu_only import LeftOut
from driftdoc.env.toolchain.syspkgs import LAYOUT
from driftdoc.env.validation.failure import Failure, Kind, install_text, read_failure


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

    @classmethod
    def from_key(cls, params: Mapping[str, object]) -> Attempt:
        """The attempt a key stands for (names as the key has them: lower case, sorted),
        so a validation can travel as the store's canonical instance and be rebuilt where
        it runs; ``from_key(a.key()).key() == a.key()``."""
        when = str(params.get("as_of", "latest"))
        reqs: list[str] = []
        system: list[str] = []
        for name, value in params.items():
            if name.startswith("pkg:"):
                reqs.append(name[4:] if value == "latest" else f"{name[4:]}=={value}")
            elif name.startswith("sys:"):
                system.append(name[4:])
        return cls(str(params["python"]), tuple(sorted(reqs, key=str.lower)),
                   None if when == "latest" else dt.date.fromisoformat(when),
                   tuple(sorted(system)))


@dataclass
class Verdict:
    """What one validation reported: the fields it stores, and the Failure read from them."""

    kind: Kind
    pins: list[str] = field(default_factory=list)  # the full resolved set
    exception_name: str | None = None
    exception_message: str | None = None
    line: int | None = None  # deepest line in the snippet's own file
    missing_module: str | None = None
    responsible: str | None = None  # distribution or top-level module blamed
    evidence: str = ""  # what blames it
    failed_requirement: str | None = None  # install failures
    imports_completed: bool = False
    in_package: bool = False
    record: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    note: str = ""
    build_constraints: list[str] = field(default_factory=list)  # the env's build needed them
    left_out: list[LeftOut] = field(default_factory=list)  # pins of the full set not installed
    lenient: list[str] = field(default_factory=list)  # pins whose metadata was read leniently

    @cached_property
    def failure(self) -> Failure:
        """The typed failure, read once (a Verdict is not changed after it is made)."""
        line = (self.record.get("execution") or {}).get("exception_line")
        return read_failure(
            kind=self.kind, exception_name=self.exception_name,
            exception_message=self.exception_message, line=self.line,
            missing_module=self.missing_module, responsible=self.responsible,
            evidence=self.evidence, failed_requirement=self.failed_requirement,
            imports_completed=self.imports_completed, in_package=self.in_package,
            exception_line=str(line) if line else None,
            install_output=install_text(self.record) if self.kind is Kind.INSTALL else None)

    @property
    def ok(self) -> bool:
        return self.failure.ok

    @property
    def passes(self) -> bool:
        return self.failure.passes

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value, "pins": self.pins, "exception_name": self.exception_name,
            "exception_message": self.exception_message, "line": self.line,
            "missing_module": self.missing_module, "responsible": self.responsible,
            "evidence": self.evidence, "failed_requirement": self.failed_requirement,
            "imports_completed": self.imports_completed, "in_package": self.in_package,
            "record": self.record, "seconds": self.seconds, "note": self.note,
            "build_constraints": self.build_constraints, "lenient": self.lenient,
            "left_out": [lo.to_json() for lo in self.left_out],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        return cls(
            kind=Kind(data["kind"]),
            pins=list(data.get("pins") or []),
            exception_name=data.get("exception_name"),
            exception_message=data.get("exception_message"),
            line=data.get("line"),
            missing_module=data.get("missing_module"),
            responsible=data.get("responsible"),
            evidence=str(data.get("evidence") or ""),
            failed_requirement=data.get("failed_requirement"),
            imports_completed=bool(data.get("imports_completed")),
            in_package=bool(data.get("in_package")),
            record=dict(data.get("record") or {}),
            seconds=float(data.get("seconds") or 0.0),
            note=str(data.get("note") or ""),
            build_constraints=[str(c) for c in data.get("build_constraints") or []],
            left_out=[LeftOut.from_json(lo) for lo in data.get("left_out") or []],
            lenient=[str(n) for n in data.get("lenient") or []],
        )


class Validator(Protocol):
    """Builds the attempt's environment and runs the snippet in it."""

    def check(self, attempt: Attempt) -> Verdict: ...
