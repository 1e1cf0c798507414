"""What the repair rules may consult, and the few helpers several of them share.

A :class:`Context` is the rules' view of the world: the release provider, the knowledge
base's lookup, the Pythons here, what the user pinned, the standard libraries, the
snippet's import aliases, the system-package tables, and the dependencies found to be
uninstallable (never re-added). A :class:`Target` is what the situation of one failure
points the rules at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from packaging.version import InvalidVersion, Version

from driftdoc.env.host import tables
from driftdoc.env.knowledge.distfiles import wheel_fits
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.search.engine import Run, Tested, moved_on
from driftdoc.env.search.state import Dep, Move, MoveKind, State, norm
from driftdoc.env.search.unbuildable import Unbuildable
from driftdoc.env.validation.failure import Failure, Kind
from driftdoc.env.validation.verdict import Verdict

ModuleLookup = Callable[[str], list[str]]
DepsForPython = Callable[[str], tuple[Dep, ...]]


def py_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split(".") if x.isdigit())


def parse_version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def resolved_version(pins: Sequence[str], dist: str) -> str | None:
    """The version the resolver picked for ``dist`` in a validated environment."""
    for pin in pins:
        name, _, version = pin.partition("==")
        if norm(name) == norm(dist):
            return version.strip() or None
    return None


def version_ladder(versions: Sequence[str], current: str | None) -> list[str]:
    """Older releases to step down through: the newest patch of each older minor, newest first."""
    cur = parse_version(current) if current else None
    best: dict[tuple[int, int], Version] = {}
    for text in versions:
        v = parse_version(text)
        if v is None or v.is_prerelease or v.is_devrelease:
            continue
        if cur is not None and v >= cur:
            continue
        key = (v.major, v.minor)
        if cur is not None and key == (cur.major, cur.minor):
            continue  # a patch of the same minor rarely undoes drift
        if key not in best or v > best[key]:
            best[key] = v
    return [str(v) for v in sorted(best.values(), reverse=True)]


def keeping_only(deps: Sequence[Dep], package: str) -> tuple[Dep, ...]:
    """``deps`` with only ``package``'s pin kept: on another Python the others re-resolve."""
    return tuple(d if norm(d.dist) == norm(package) else replace(d, version=None)
                 for d in deps)


def with_system(state: State, packages: Sequence[str], why: str,
                package: str | None = None) -> list[Move]:
    """The system move adding those of ``packages`` the state lacks (none if it has all)."""
    extra = [p for p in packages if p not in state.system]
    if not extra:
        return []
    system = tuple(sorted({*state.system, *extra}))
    return [Move(replace(state, system=system), MoveKind.SYSTEM,
                 f"with the system packages {', '.join(extra)} ({why})", package)]


@dataclass
class Context:
    """The world the rules see (see the module docstring)."""

    releases: ReleaseProvider
    lookup: ModuleLookup
    snippet_imports: frozenset[str]
    pythons: list[str]
    python_pinned: bool = False
    as_of_pinned: bool = False
    deps_for_python: DepsForPython | None = None
    stdlib_in: Callable[[str, str], bool] | None = None
    aliases: dict[str, str] = field(default_factory=dict)  # "tf" -> "tensorflow"
    # distribution -> Debian packages it builds against; None: no system packages here
    system_packages: Callable[[str], tuple[str, ...]] | None = None
    # GObject introspection namespace -> Debian packages holding its typelib
    typelib_packages: Callable[[str], tuple[str, ...]] | None = None
    time_left: Callable[[], bool] = lambda: True
    # dropped because nothing installs them here: never re-added by a later move
    unavailable: set[str] = field(default_factory=set)
    unavailable_modules: set[str] = field(default_factory=set)
    # releases whose source build failed here: never validated again (None: no memo)
    unbuildable: Unbuildable | None = None

    def mark_unavailable(self, state: State, dist: str) -> None:
        self.unavailable.add(norm(dist))
        for dep in state.deps:
            if norm(dep.dist) == norm(dist):
                self.unavailable_modules.update(m.lower() for m in dep.imports)

    def is_unavailable(self, dep: Dep) -> bool:
        return norm(dep.dist) in self.unavailable or \
            all(m.lower() in self.unavailable_modules for m in dep.imports)

    def has_wheel(self, dist: str, version: str, python: str) -> bool:
        """Whether a wheel of that release installs on ``python`` (else: a source build)."""
        fits = self.releases.wheel_pythons(dist, version, [python])
        if fits is not None:
            return python in fits
        return any(f.is_wheel and wheel_fits(f.filename, python)
                   for r in self.releases.releases(dist) if r.version == version
                   for f in r.files)

    def as_of_for(self, python: str, state: State) -> dt.date | None:
        """The date horizon on another Python: 2.7's era for 2.7, none leaving it."""
        if self.as_of_pinned:
            return state.as_of
        if python.startswith("2."):
            return tables.py2_eras()[0][0]
        return None if state.python.startswith("2.") else state.as_of

    def deps_on(self, python: str, state: State) -> tuple[Dep, ...]:
        """Dependencies for another Python: its stdlib differs, so re-derive them.

        Transitive additions are kept; every version goes back to "newest allowed".
        """
        kept = tuple(replace(d, version=None) for d in state.deps)
        if self.deps_for_python is None or python == state.python:
            return kept
        fresh = tuple(d for d in self.deps_for_python(python) if not self.is_unavailable(d))
        names = {norm(d.dist) for d in fresh}
        extra = tuple(d for d in kept if d.transitive and norm(d.dist) not in names)
        # a package with no release at all for that Python (appengine-python-standard on
        # 2.7) would only turn the move into an install failure
        as_of = self.as_of_for(python, state)
        return tuple(d for d in fresh + extra
                     if self.releases.versions(d.dist, python, as_of)
                     or not self.releases.exists(d.dist))

    def index_or_promote(self, state: State, module: str,
                         pins: Sequence[str]) -> tuple[State, int] | None:
        """The direct dependency serving ``module``; else, if a transitive one installed it
        (flask under flask-sqlalchemy, protobuf under a generated module), make that a
        direct dependency so it can be stepped down like any other."""
        index = state.index_of(module)
        if index is not None:
            return state, index
        top = module.split(".")[0]
        if not top:
            return None
        pinned = {norm(p.partition("==")[0]): p.partition("==")[0] for p in pins}
        names = [top, *self.lookup(top)] if norm(top) not in pinned else [top]
        dist = next((pinned[norm(n)] for n in names if norm(n) in pinned), None)
        if dist is None or norm(dist) in self.unavailable:
            return None
        promoted = replace(state, deps=(*state.deps, Dep((top,), (dist,), transitive=True)))
        return promoted, len(promoted.deps) - 1

    def undeclared(self, state: State, failure: Failure) -> str | None:
        """The top-level module a failure lacks that no dependency (nor the standard
        library) provides, if that is the failure."""
        top = (failure.module or "").split(".")[0]
        if failure.kind is not Kind.IMPORT or not top or state.index_of(top) is not None:
            return None
        if self.stdlib_in and self.stdlib_in(top, state.python):
            return None
        return top


    def horizon(self, move: Move) -> dt.date | None:
        """Half a year after the release a version move picked, if earlier than the
        state's own horizon (and the user did not fix the date)."""
        if self.as_of_pinned or move.kind not in (MoveKind.OLDER, MoveKind.BISECT) \
                or not move.package or not move.to_version:
            return None
        when = self.releases.upload_date(move.package, move.to_version)
        if when is None:
            return None
        horizon = when + dt.timedelta(days=180)
        if move.state.as_of is not None and horizon >= move.state.as_of:
            return None
        return horizon


def if_further(run: Run, retry: Move, move: Move, verdict: Verdict) -> Tested:
    """``retry`` and its verdict if it gets further than ``move`` did, else ``move``."""
    for m, v in run([retry]):
        if v.failure.progress() > verdict.failure.progress() or \
                moved_on(verdict.failure, v.failure):
            return m, v
    return move, verdict


@dataclass(frozen=True)
class Target:
    """Where the situation of one failure points the rules.

    ``state`` is where whole-environment moves (Python, era) start; ``base`` holds the
    blamed dependency at ``index`` (promoted when a transitive one is to blame);
    ``original`` is the state before system packages were added for this failure.
    """

    state: State
    failure: Failure
    pins: tuple[str, ...]
    why: str
    base: State | None = None
    index: int | None = None
    original: State | None = None
    dep_why: str | None = None  # the reason moves of the blamed dependency give
    module: str | None = None  # a module to provide (add) or to find in old releases
    maybe_module: bool = False  # the module may be a function ("cannot import name x")
    other_major: bool = False  # Python moves go to the other major version
    homes: tuple[str, ...] | None = None  # Pythons where what is missing exists
    homes_why: str = ""
    system_for: str | None = None  # the distribution whose system packages to add

    @property
    def on(self) -> State:
        """The state the blamed dependency lives in."""
        return self.base if self.base is not None else self.state

    @property
    def dep_reason(self) -> str:
        return self.dep_why if self.dep_why is not None else self.why
