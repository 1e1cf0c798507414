"""The points of the environment space the search walks, and the moves between them.

A :class:`State` is a Python, a date horizon, direct dependencies and system packages; a
:class:`Move` is a candidate next state with its :class:`MoveKind` and the reason it is
worth a validation. The engine treats both as opaque except for what is written here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from enum import Enum

from driftdoc.env.search.result import DriftFix
from driftdoc.env.validation.verdict import Attempt, Verdict
from driftdoc.events import Event


class MoveKind(str, Enum):
    """What a move changes; the value is what ``steps`` in a result say."""

    START = "start"  # the first plan
    OLDER = "older"  # an older release of one dependency
    BISECT = "bisect"  # a probe of a bisection (a marker while ``to_version`` is None)
    NEWER = "newer"  # a newer release (past the date cut-off, or a pre-release)
    ERA = "era"  # the whole environment as of an earlier date
    CANDIDATE = "candidate"  # another distribution for the same import
    DROP = "drop"  # go on without a dependency
    ADD = "add"  # a distribution for a module nobody provides
    PYTHON = "python"  # another interpreter
    SYSTEM = "system"  # Debian packages for the build and the run

    @property
    def changes_version(self) -> bool:
        """A kept move of this kind is drift: it records the version it left."""
        return self in (MoveKind.OLDER, MoveKind.BISECT, MoveKind.ERA, MoveKind.NEWER)


def norm(name: str) -> str:
    """A distribution or module name, normalised (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class Dep:
    """A direct dependency: which imports it serves and which release is asked for."""

    imports: tuple[str, ...]
    candidates: tuple[str, ...]  # ranked distributions that may provide the imports
    choice: int = 0
    version: str | None = None  # None: the newest release allowed
    optional: bool = False
    transitive: bool = False
    standin: bool = False  # stands in for a platform-bound import (bpy, RPi.GPIO, a namesake)

    @property
    def dist(self) -> str:
        return self.candidates[self.choice]

    def requirement(self) -> str:
        return f"{self.dist}=={self.version}" if self.version else self.dist


@dataclass
class State:
    """One point of the environment space the search walks."""

    python: str
    as_of: dt.date | None
    deps: tuple[Dep, ...]
    system: tuple[str, ...] = ()  # Debian packages (headers, libraries) the build needs

    def attempt(self) -> Attempt:
        reqs = tuple(sorted((d.requirement() for d in self.deps), key=str.lower))
        return Attempt(self.python, reqs, self.as_of, self.system)

    def with_dep(self, index: int, dep: Dep | None) -> State:
        deps = list(self.deps)
        if dep is None:
            del deps[index]
        else:
            deps[index] = dep
        return replace(self, deps=tuple(deps))

    def index_of(self, module: str) -> int | None:
        """The dependency that serves a top-level import name, if any."""
        top = module.split(".")[0].lower()
        for i, d in enumerate(self.deps):
            if top in (m.lower() for m in d.imports) or norm(d.dist) == norm(top):
                return i
        return None


@dataclass(frozen=True)
class Move:
    """A candidate next state and why it is worth a validation."""

    state: State
    kind: MoveKind
    why: str
    package: str | None = None
    from_version: str | None = None
    to_version: str | None = None

    @property
    def is_marker(self) -> bool:
        """A bisection not yet started: the engine walks it probe by probe."""
        return self.kind is MoveKind.BISECT and self.to_version is None


@dataclass(frozen=True)
class Trying(Event):
    """Moves about to be validated (one batch), so a progress line can name the step."""

    moves: tuple[str, ...]

    def describe(self) -> str:
        more = f" (+{len(self.moves) - 1} in parallel)" if len(self.moves) > 1 else ""
        return f"trying {self.moves[0]}{more}" if self.moves else "trying"


@dataclass(frozen=True)
class Tried(Event):
    """A move was validated."""

    move: str
    verdict: str
    seconds: float

    def describe(self) -> str:
        return f"tried {self.move}: {self.verdict} ({self.seconds:.1f}s)"


@dataclass
class SearchOutcome:
    """The best environment reached, the drift fixed on the way, and why it stopped."""

    state: State
    verdict: Verdict | None
    drift: list[DriftFix] = field(default_factory=list)
    validations: int = 0
    reason: str | None = None
    steps: list[dict[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the search left undone, and why


def step(move: Move, verdict: Verdict, *, kept: bool) -> dict[str, object]:
    """One line of a result's ``steps``."""
    return {"move": move.kind.value, "why": move.why, "python": move.state.python,
            "as_of": move.state.as_of.isoformat() if move.state.as_of else None,
            "requirements": list(move.state.attempt().requirements),
            "result": verdict.kind.value, "detail": verdict.failure.describe(), "kept": kept,
            "seconds": round(verdict.seconds, 3)}
