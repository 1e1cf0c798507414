"""The outcome of ``driftdoc run`` on one snippet: the JSON contract outside checks rely on."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from driftdoc.env.toolchain.gpu_only import LeftOut
from driftdoc.schema import stamped


@dataclass(frozen=True)
class DriftFix:
    """One instance of drift: moving ``package`` from one release to another fixed an error."""

    package: str
    from_version: str | None
    to_version: str | None
    exception_name: str | None
    exception_message: str | None
    line: int | None
    move: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "package": self.package,
            "from": self.from_version,
            "to": self.to_version,
            "move": self.move,
            "fixed": {
                "exception_name": self.exception_name,
                "exception_message": self.exception_message,
                "line": self.line,
            },
        }


@dataclass
class EnvResult:
    """What a search found; ``to_json`` is the documented contract."""

    snippet: str
    status: str  # "resolved" | "unresolved"
    python: str | None
    requirements: list[str]
    validations: int
    seconds: float
    drift: list[DriftFix] = field(default_factory=list)
    final: dict[str, Any] | None = None
    reason: str | None = None
    classification: str | None = None
    direct: list[str] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)  # e.g. stand-ins for platform modules
    system_packages: list[str] = field(default_factory=list)  # Debian packages it needs
    build_constraints: list[str] = field(default_factory=list)  # for old setup.py builds
    # releases whose metadata today's resolvers refuse, resolved by reading it leniently
    lenient_metadata: list[str] = field(default_factory=list)
    sandbox: str = "bwrap"  # "none": the validations ran without isolation (an opt-out)
    left_out: list[LeftOut] = field(default_factory=list)  # in requirements, not validated here

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    def to_json(self) -> dict[str, Any]:
        return stamped("run", {
            "snippet": self.snippet,
            "status": self.status,
            "python": self.python,
            "requirements": list(self.requirements),
            "validations": self.validations,
            "seconds": round(self.seconds, 3),
            "drift": [d.to_json() for d in self.drift],
            "final": self.final,
            "reason": self.reason,
            "classification": self.classification,
            "direct": list(self.direct),
            "steps": list(self.steps),
            "caveats": list(self.caveats),
            "system_packages": list(self.system_packages),
            "build_constraints": list(self.build_constraints),
            "lenient_metadata": list(self.lenient_metadata),
            "sandbox": self.sandbox,
            "left_out": [lo.to_json() for lo in self.left_out],
        })

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnvResult:
        drift = [
            DriftFix(d["package"], d.get("from"), d.get("to"),
                     (d.get("fixed") or {}).get("exception_name"),
                     (d.get("fixed") or {}).get("exception_message"),
                     (d.get("fixed") or {}).get("line"), d.get("move", ""))
            for d in data.get("drift", [])
        ]
        return cls(
            snippet=data.get("snippet", ""), status=data["status"], python=data.get("python"),
            requirements=list(data.get("requirements", [])),
            validations=int(data.get("validations", 0)), seconds=float(data.get("seconds", 0)),
            drift=drift, final=data.get("final"), reason=data.get("reason"),
            classification=data.get("classification"), direct=list(data.get("direct", [])),
            steps=list(data.get("steps", [])),
            caveats=list(data.get("caveats", [])),
            system_packages=list(data.get("system_packages", [])),
            build_constraints=list(data.get("build_constraints", [])),
            lenient_metadata=list(data.get("lenient_metadata", [])),
            sandbox=str(data.get("sandbox", "bwrap")),
            left_out=[LeftOut.from_json(lo) for lo in data.get("left_out") or []],
        )
