"""The one interface both toolchains implement: resolve a requirement set, build a pinned one.

uv serves Python 3.6+; pip 20.3 with virtualenv serves 2.7, which uv cannot target.
``resolve`` and ``build`` dispatch to an :class:`Installer` and keep everything the two
share (caching, date cut-offs for late projects, backtracking checks, content addresses)
on their side of the interface.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from packaging.requirements import Requirement

from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.toolchain.syspkgs import SystemRoot


@dataclass(frozen=True)
class InstallError:
    """One requirement that failed to install, with the tail of the installer's output."""

    requirement: str | None
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"requirement": self.requirement, "message": self.message}


@dataclass
class Resolution:
    """A pinned set (``name==version`` lines) or why there is none."""

    pins: list[str]
    ok: bool
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    backtracked: list[str] = field(default_factory=list)
    python: str = ""
    # projects kept to releases with a wheel for this Python (their newest has none)
    binary_only: list[str] = field(default_factory=list)
    # releases whose metadata today's resolvers refuse, read leniently (``lenient.py``)
    lenient: list[str] = field(default_factory=list)
    as_of: str | None = None
    cached: bool = False
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def tail(text: str, lines: int = 25) -> str:
    """The last ``lines`` lines of a tool's output: where its error is."""
    return "\n".join(text.strip().splitlines()[-lines:])


class Installer(Protocol):
    """A toolchain for one family of Pythons."""

    def cutoff(self, as_of: datetime | None) -> datetime | None:
        """The date horizon a resolution for ``as_of`` may see."""
        ...

    def resolve(self, python: str, reqs: list[Requirement], as_of: datetime | None,
                index_url: str, releases: ReleaseProvider, system: SystemRoot | None,
                late: dict[str, datetime], without: Sequence[str] = ()) -> Resolution:
        """Pin ``reqs`` against ``index_url`` (``releases`` reads the same index), leaving
        out the distributions ``without`` names wherever a dependency asks for them; never
        raises: ``ok=False`` with the resolver's error."""
        ...

    def build(self, dest: Path, interp: Path, pins: list[str], index_url: str,
              system: SystemRoot | None, constraints: list[str],
              without: Sequence[str] = ()) -> list[InstallError]:
        """Install exact ``pins`` (and nothing ``without`` names) into a new environment at
        ``dest``; the build constraints it needed are appended to ``constraints``."""
        ...
