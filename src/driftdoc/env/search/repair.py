"""Feedback-directed repair: validate, blame one dependency, make the cheapest promising move.

After V2: each failed validation names (through its classification) the dependency
responsible; the search then tries, in order of cost, an older minor or major
release, a bisection over older releases, another candidate distribution for an
import, a missing transitive dependency, another Python, or an earlier date
horizon for the whole environment. A move is kept when the failure moves later in
the snippet (a checkpoint); every kept version move is recorded as drift.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from packaging.version import InvalidVersion, Version

from driftdoc import limits
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.search.result import DriftFix
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
from driftdoc.events import Event, Note, Reporter, null_reporter

# Date horizons to fall back to when no single dependency can be blamed, each with the
# newest Python that had wheels for most packages by then.
ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2021, 6, 1), "3.8"),
    (dt.date(2019, 6, 1), "3.7"),
    (dt.date(2017, 6, 1), "3.6"),
)
PY2_ERAS: tuple[tuple[dt.date, str], ...] = (
    (dt.date(2019, 12, 31), "2.7"),
    (dt.date(2016, 6, 1), "2.7"),
)


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
            if top in (m.lower() for m in d.imports) or _norm(d.dist) == _norm(top):
                return i
        return None


@dataclass(frozen=True)
class Move:
    """A candidate next state and why it is worth a validation."""

    state: State
    kind: str
    why: str
    package: str | None = None
    from_version: str | None = None
    to_version: str | None = None


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


HOLDER_PROBES = 40
"""Most releases whose file lists are read looking for a vanished module (each is cached)."""
HOLDER_SECONDS = 20.0
"""And for at most this long: beyond it, bisecting builds is as cheap."""

DEFAULT_BUDGET = limits.BUDGET
"""Most validations per snippet: most snippets need a few; old ones bisect several packages
(a probe may take two: one on its own Python), and 16 cut off 8 of 300 HG2.9K gists."""

# First release dates of CPython minor versions: which interpreter an old release targeted.
PYTHON_RELEASED: dict[str, dt.date] = {
    "2.7": dt.date(2010, 7, 3), "3.6": dt.date(2016, 12, 23), "3.7": dt.date(2018, 6, 27),
    "3.8": dt.date(2019, 10, 14), "3.9": dt.date(2020, 10, 5), "3.10": dt.date(2021, 10, 4),
    "3.11": dt.date(2022, 10, 24), "3.12": dt.date(2023, 10, 2), "3.13": dt.date(2024, 10, 7),
}


def _py_key(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split(".") if x.isdigit())


Evaluate = Callable[[Sequence[Attempt]], list[Verdict | None]]
ModuleLookup = Callable[[str], list[str]]
DepsForPython = Callable[[str], tuple[Dep, ...]]


_PATH_NOTE = re.compile(r" \((?:/|[A-Za-z]:\\)[^)]*\)")


def short(message: str | None, limit: int = 120) -> str:
    """An exception message without file-system paths, on one line, capped."""
    text = _PATH_NOTE.sub("", (message or "").strip().splitlines()[0] if message else "")
    return text[:limit]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def resolved_version(verdict: Verdict | None, dist: str) -> str | None:
    """The version the resolver picked for ``dist`` in a validated environment."""
    if verdict is None:
        return None
    for pin in verdict.pins:
        name, _, version = pin.partition("==")
        if _norm(name) == _norm(dist):
            return version.strip() or None
    return None


def version_ladder(versions: Sequence[str], current: str | None) -> list[str]:
    """Older releases to step down through: the newest patch of each older minor, newest first."""
    cur = _version(current) if current else None
    best: dict[tuple[int, int], Version] = {}
    for text in versions:
        v = _version(text)
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


# How many libraries in a row a move may need before it gets further (each build fails
# at the first package that lacks one).
LIBRARY_CHAIN = 3

_MODULE_ATTR = re.compile(r"module '([\w.]+)' has no attribute")
_CANNOT_IMPORT = re.compile(r"cannot import name '?(\w+)'? from '([\w.]+)'")
_REQUIRES = re.compile(r"\brequires (?:the )?([A-Za-z][\w.-]*[A-Za-z0-9])")
_SHARED_LIBRARY = re.compile(r"\.so[.\d]*: cannot open shared object file|"
                             r"library not found|Library not loaded|"
                             r"introspection typelib not found")
_CANNOT_IMPORT_PY2 = re.compile(r"cannot import name '?(\w+)'?$")
# PyGObject's importer: "cannot import name Notify, introspection typelib not found"
_TYPELIB = re.compile(r"cannot import name '?(\w+)'?, introspection typelib not found")


class RepairSearch:
    """Walks the environment space from a first plan towards a working environment."""

    def __init__(
        self,
        start: State,
        *,
        evaluate: Evaluate,
        releases: ReleaseProvider,
        lookup: ModuleLookup,
        snippet_imports: frozenset[str],
        pythons: Sequence[str],
        python_pinned: bool = False,
        as_of_pinned: bool = False,
        budget: int = DEFAULT_BUDGET,
        deadline: float | None = None,
        reporter: Reporter = null_reporter,
        width: int = 1,
        deps_for_python: DepsForPython | None = None,
        on_kept: Callable[[SearchOutcome], None] | None = None,
        stdlib_in: Callable[[str, str], bool] | None = None,
        aliases: dict[str, str] | None = None,
        system_packages: Callable[[str], tuple[str, ...]] | None = None,
        typelib_packages: Callable[[str], tuple[str, ...]] | None = None,
    ) -> None:
        self.start = start
        self.evaluate = evaluate
        self.releases = releases
        self.lookup = lookup
        self.snippet_imports = frozenset(m.lower() for m in snippet_imports)
        self.pythons = list(pythons)
        self.python_pinned = python_pinned
        self.as_of_pinned = as_of_pinned
        self.budget = budget
        self.deadline = deadline
        self.reporter = reporter
        self.width = max(1, width)
        self.deps_for_python = deps_for_python
        self.on_kept = on_kept
        self.stdlib_in = stdlib_in
        self.aliases = dict(aliases or {})  # "tf" -> "tensorflow", from the snippet's imports
        # distribution -> Debian packages it builds against; None: no system packages here
        self.system_packages = system_packages
        # GObject introspection namespace -> Debian packages holding its typelib
        self.typelib_packages = typelib_packages
        self.validations = 0
        self._seen: set[Attempt] = set()
        # dropped because nothing installs them here (not on the index, or no release
        # builds): never re-added by a later move
        self.unavailable: set[str] = set()
        self.unavailable_modules: set[str] = set()

    # -- bookkeeping -----------------------------------------------------------

    @staticmethod
    def _fingerprint(state: State) -> Attempt:
        return state.attempt()  # what gets validated; two states that ask the same are one

    def _time_left(self) -> bool:
        return self.deadline is None or time.monotonic() < self.deadline

    def _run(self, moves: Sequence[Move]) -> list[tuple[Move, Verdict]]:
        fresh = []
        for m in map(self._where_its_wheels_are, moves):
            fp = self._fingerprint(m.state)
            if fp not in self._seen:
                self._seen.add(fp)
                fresh.append(m)
        room = self.budget - self.validations
        fresh = fresh[: max(0, room)]
        if not fresh or not self._time_left():
            return []
        self.reporter(Trying(tuple(m.why for m in fresh)))
        verdicts = self.evaluate([m.state.attempt() for m in fresh])
        out = []
        for m, v in zip(fresh, verdicts, strict=True):
            if v is None:
                continue
            self.validations += 1
            self.reporter(Tried(m.why, _describe(v), v.seconds))
            out.append((m, v))
        return out

    # -- the walk --------------------------------------------------------------

    def run(self) -> SearchOutcome:
        first = Move(self.start, "start", "the first plan")
        results = self._run([first])
        if not results:
            return SearchOutcome(self.start, None, validations=self.validations,
                                 reason="no validation could be run (budget or time limit)")
        state, verdict = self.start, results[0][1]
        outcome = SearchOutcome(state, verdict, validations=self.validations)
        outcome.steps.append(_step(first, verdict, kept=True))
        self._checkpoint(outcome)
        while not verdict.ok:
            moves = self.moves(state, verdict)
            if not moves:
                outcome.reason = self._stuck_reason(verdict)
                break
            best: tuple[Move, Verdict] | None = None
            failed_versions: set[str] = set()
            for batch in _batches(moves, self.width):
                markers = [m for m in batch if m.kind == "bisect" and m.to_version is None]
                plain = [m for m in batch if m not in markers]
                tried = self._follow_up(self._run(plain))
                for marker in markers:
                    found = self._bisect(state, verdict, marker, failed_versions, outcome)
                    if found is not None:
                        best = found if best is None or found[1].progress() > \
                            best[1].progress() else best
                for m, v in tried:
                    better = self._better(verdict, v)
                    outcome.steps.append(_step(m, v, kept=better))
                    if better and (best is None or v.progress() > best[1].progress()):
                        best = (m, v)
                    elif not better and m.to_version:
                        failed_versions.add(m.to_version)
                if best is not None or self.validations >= self.budget or not self._time_left():
                    break
            if best is None:
                outcome.reason = self._stuck_reason(verdict, exhausted=self._exhausted())
                break
            move, new = best
            if move.kind == "drop" and move.package:
                self._mark_unavailable(state, move.package)
            if move.package and move.kind in ("older", "bisect", "era", "newer"):
                outcome.drift.append(DriftFix(
                    move.package, move.from_version or resolved_version(verdict, move.package),
                    move.to_version or resolved_version(new, move.package),
                    verdict.exception_name or verdict.kind, verdict.exception_message,
                    verdict.line, move.kind))
            self.reporter(Note(f"kept: {move.why}"))
            state, verdict = move.state, new
            outcome.state, outcome.verdict = state, verdict
            self._checkpoint(outcome)
        outcome.validations = self.validations
        if verdict.ok and verdict.kind == SNIPPET:
            failure = verdict.exception_name or short(verdict.exception_message, 80) \
                or "a failure"
            outcome.reason = (
                f"{failure} in the snippet's own code"
                + (f" at line {verdict.line}" if verdict.line else "")
                + " is not repairable by changing the environment; "
                "the environment works up to that point")
        return outcome

    @staticmethod
    def _better(before: Verdict, after: Verdict) -> bool:
        return after.ok or after.progress() > before.progress() or _moved_on(before, after)

    def _bisect(self, state: State, verdict: Verdict, marker: Move, failed: set[str],
                outcome: SearchOutcome) -> tuple[Move, Verdict] | None:
        """Binary search over older releases for the newest one that gets further.

        Releases newer than a probe that fails the same way fail too (drift is monotone
        in time); a release too old to install here means the answer is newer. Releases
        with wheels come first (``_wheels_first``); the older ones without are searched
        only when every release with wheels fails the same way.
        """
        state = marker.state  # may carry a promoted transitive dependency
        index = state.index_of(marker.package or "")
        if index is None:
            return None
        dep = state.deps[index]
        versions = self.releases.versions(dep.dist, state.python, state.as_of)
        ladder = version_ladder(versions, marker.from_version)
        best: tuple[Move, Verdict] | None = None
        for part in self._wheels_first(dep.dist, ladder, state.python):
            lo = max((part.index(v) for v in failed if v in part), default=-1)
            hi = len(part)
            while hi - lo > 1 and not self._exhausted():
                mid = (lo + hi) // 2
                probe = Move(state.with_dep(index, replace(dep, version=part[mid])), "bisect",
                             f"{dep.dist} {marker.from_version or 'newest'} -> {part[mid]} "
                             f"(bisecting {len(ladder)} releases)",
                             dep.dist, marker.from_version, part[mid])
                tried = self._follow_up(self._run([probe]))
                if not tried:
                    break
                m, v = tried[0]
                works = self._better(verdict, v)
                outcome.steps.append(_step(m, v, kept=works))
                if works:
                    hi = mid
                    if best is None or v.progress() >= best[1].progress():
                        best = (m, v)  # newest among the furthest-getting probes
                elif v.kind == INSTALL or (v.line == verdict.line
                                           and not _same_failure(verdict, v)
                                           and not _says_gone(v)):
                    # too old: it no longer installs, or breaks another way at the same line
                    # (flask.ext before Flask 0.8; mongoengine against today's pymongo).
                    # Missing another API at another line (tf.select) still means "older",
                    # and so does a stub saying the API moved away (pandas.io.data in 0.19).
                    hi = mid
                else:
                    lo = mid
            if best is not None or hi < len(part) or self._exhausted():
                break  # the answer, if any, lies among these releases
        return best

    def _wheels_first(self, dist: str, ladder: list[str], python: str) -> list[list[str]]:
        """``ladder`` split into the releases with a wheel for a Python here (of the same
        major as ``python``), then the older ones without, for a project that ships
        compiled wheels.

        A release without wheels is a source build: minutes of the time limit, often a
        failure (pandas 0.12 on 2.7), while a release with wheels answers in seconds.
        """
        major = python.split(".")[0]
        pythons = [py for py in self.pythons if py.split(".")[0] == major]
        has = [self.releases.wheel_pythons(dist, v, pythons) for v in ladder]
        if any(h is None for h in has):
            return [ladder]  # a pure or source-only project: every release builds alike
        wheeled = [v for v, h in zip(ladder, has, strict=True) if h]
        if not wheeled or len(wheeled) == len(ladder):
            return [ladder]
        oldest = ladder.index(wheeled[-1])
        return [wheeled, [v for v in ladder[oldest + 1:] if v not in wheeled]]

    def _follow_up(self, tried: list[tuple[Move, Verdict]]) -> list[tuple[Move, Verdict]]:
        """Complete a move that only uncovered a missing dependency (keras 1 -> theano).

        Without this, an older release that needs another backend looks like a step
        back, although it is one cheap addition away from working.
        """
        out = []
        for move, verdict in tried:
            if verdict.kind == INSTALL and move.kind in ("older", "bisect"):
                move, verdict = self._on_its_python(move, verdict)
            if verdict.kind == IMPORT and move.kind in ("older", "bisect"):
                move, verdict = self._on_python2_for_its_stdlib(move, verdict)
            if verdict.kind == INSTALL:  # (a system move may uncover another library)
                move, verdict = self._with_its_libraries(move, verdict)
            if verdict.kind in (IMPORT, DRIFT) and verdict.in_package \
                    and move.kind in ("older", "bisect") \
                    and self._undeclared(move.state, verdict) is None:
                # (a module nobody provides is added below; a date cannot supply it)
                move, verdict = self._of_its_time(move, verdict)
            horizon = self._horizon(move)
            for _ in range(3):  # old releases may lack several declarations (numpy, scipy)
                # nobody provides it: old releases often did not declare what they import
                top = self._undeclared(move.state, verdict)
                if top is None:
                    break
                adds = [m for m in self._add_moves(move.state, top, "needed by the move",
                                                   verdict) if m.kind == "add"][:1]
                if horizon is not None:  # of the release's time (scipy 1.0 for sklearn 0.19)
                    adds = [replace(a, state=replace(a.state, as_of=horizon)) for a in adds]
                improved = False
                for add, v2 in self._run(adds):
                    if self._better(verdict, v2):
                        move = replace(move, state=add.state, why=f"{move.why}; {add.why}")
                        verdict, improved = v2, True
                if not improved:
                    break
            out.append((move, verdict))
        return out

    def _with_its_libraries(self, move: Move, verdict: Verdict) -> tuple[Move, Verdict]:
        """A move that brings in a distribution which builds against a C library (rtmidi ->
        python-rtmidi) fails to build without it; judge the move with the library present."""
        current, now = move, verdict
        for _ in range(LIBRARY_CHAIN):
            failed = now.failed_requirement or now.responsible or ""
            found = self._system_moves(current.state, failed, f"{failed} did not install") \
                if failed else []
            if not found:
                break
            retry = replace(current, state=found[0].state, why=f"{current.why}; {found[0].why}")
            ran = self._run([retry])
            if not ran:
                break
            current, after = ran[0]
            if after.progress() > verdict.progress() or _moved_on(verdict, after):
                return current, after
            # built now, and the next package needs another library (pycairo, then
            # dbus-python, then PyGObject): one failed build at a time, so go on
            if after.kind != INSTALL or _failed_name(after) in ("", _failed_name(now)):
                break
            now = after
        return move, verdict

    def _if_further(self, retry: Move, move: Move, verdict: Verdict) -> tuple[Move, Verdict]:
        """``retry`` and its verdict if it gets further than ``move`` did, else ``move``."""
        for m, v in self._run([retry]):
            if v.progress() > verdict.progress() or _moved_on(verdict, v):
                return m, v
        return move, verdict

    def _undeclared(self, state: State, verdict: Verdict) -> str | None:
        """The top-level module a failure lacks that no dependency (nor the standard
        library) provides, if that is the failure."""
        top = (verdict.missing_module or "").split(".")[0]
        if verdict.kind != IMPORT or not top or state.index_of(top) is not None:
            return None
        if self.stdlib_in and self.stdlib_in(top, state.python):
            return None
        return top

    def _horizon(self, move: Move) -> dt.date | None:
        """Half a year after the release a version move picked, if earlier than the
        state's own horizon (and the user did not fix the date)."""
        if self.as_of_pinned or move.kind not in ("older", "bisect") or not move.package \
                or not move.to_version:
            return None
        when = self.releases.upload_date(move.package, move.to_version)
        if when is None:
            return None
        horizon = when + dt.timedelta(days=180)
        if move.state.as_of is not None and horizon >= move.state.as_of:
            return None
        return horizon

    def _of_its_time(self, move: Move, verdict: Verdict) -> tuple[Move, Verdict]:
        """An old release broken by today's versions of its own dependencies (Flask 0.12
        with Jinja2 3: "cannot import name 'Markup'") gets them as of its own time."""
        horizon = self._horizon(move)
        if horizon is None:
            return move, verdict
        return self._if_further(
            replace(move, state=replace(move.state, as_of=horizon),
                    why=f"{move.why}, with its dependencies as of {horizon.isoformat()}"),
            move, verdict)

    def _checkpoint(self, outcome: SearchOutcome) -> None:
        if self.on_kept is not None:
            outcome.validations = self.validations
            self.on_kept(outcome)

    def _on_its_python(self, move: Move, verdict: Verdict) -> tuple[Move, Verdict]:
        """Retry an old release that failed to install on the Python of its own time.

        Old releases rarely have wheels for newer interpreters (scikit-learn 0.19 on 3.8);
        the newest Python released before the release itself usually has them.
        """
        if self.python_pinned or not move.package or not move.to_version:
            return move, verdict
        when = self.releases.upload_date(move.package, move.to_version)
        if when is None:
            return move, verdict
        major = move.state.python.split(".")[0]
        fitting = [py for py in self.pythons if py.split(".")[0] == major
                   and PYTHON_RELEASED.get(py, dt.date.max) <= when
                   and _py_key(py) < _py_key(move.state.python)]
        if not fitting and major == "3" and "2.7" in self.pythons:
            fitting = ["2.7"]  # older than every Python 3 here (and the snippet reads as 2.7)
        deps = _keeping_only(move.state.deps, move.package)
        # newest first: a release often lacks wheels for the Pythons of its last months
        for py in sorted(fitting, key=_py_key, reverse=True)[:3]:
            retry = replace(move, state=State(py, move.state.as_of, deps, move.state.system),
                            why=f"{move.why}, on Python {py} (of its time)")
            for m, v in self._run([retry]):
                if v.kind != INSTALL:
                    return m, v
        return move, verdict

    def _where_its_wheels_are(self, move: Move) -> Move:
        """Send a version move whose release has compiled wheels, but none for this Python,
        to the newest older Python it has them for, before it is validated.

        Validating it here first means a source build that takes minutes of the time
        limit and usually fails (scikit-learn 0.18 on 3.8), only to be retried on the
        Python of its time anyway (``_on_its_python``).
        """
        if self.python_pinned or move.kind not in ("older", "bisect") \
                or not move.package or not move.to_version:
            return move
        python = move.state.python
        fits = self.releases.wheel_pythons(move.package, move.to_version, self.pythons)
        if fits is None or python in fits:
            return move  # no compiled wheels at all: nothing to gain elsewhere
        major = python.split(".")[0]
        older = [py for py in fits if py.split(".")[0] == major
                 and _py_key(py) < _py_key(python)]
        if not older:
            return move
        target = max(older, key=_py_key)
        deps = _keeping_only(move.state.deps, move.package)
        return replace(move, state=State(target, move.state.as_of, deps, move.state.system),
                       why=f"{move.why}, on Python {target} (it has no wheel for {python})")

    def _on_python2_for_its_stdlib(self, move: Move, verdict: Verdict) -> tuple[Move, Verdict]:
        """Retry an old release on 2.7, keeping it, when it imports a module only Python 2's
        standard library has (``sgmllib`` under Scrapy 0.22 on 3.8): a later Python move
        would start again from the newest release and lose what the bisection found."""
        top = (verdict.missing_module or "").split(".")[0]
        py = move.state.python
        if self.python_pinned or self.stdlib_in is None or not top or py.startswith("2.") \
                or "2.7" not in self.pythons or not move.package:
            return move, verdict
        if not self.stdlib_in(top, "2.7") or self.stdlib_in(top, py):
            return move, verdict
        deps = _keeping_only(move.state.deps, move.package)
        retry = replace(move, state=State("2.7", self._as_of_for("2.7", move.state), deps,
                                          move.state.system),
                        why=f"{move.why}, on Python 2.7 (whose standard library has {top})")
        return self._if_further(retry, move, verdict)

    def _index_or_promote(self, state: State, module: str,
                          verdict: Verdict) -> tuple[State, int] | None:
        """The direct dependency serving ``module``; else, if a transitive one installed it
        (flask under flask-sqlalchemy, protobuf under a generated module), make that a
        direct dependency so it can be stepped down like any other."""
        index = state.index_of(module)
        if index is not None:
            return state, index
        top = module.split(".")[0]
        if not top:
            return None
        pinned = {_norm(p.partition("==")[0]): p.partition("==")[0] for p in verdict.pins}
        names = [top, *self.lookup(top)] if _norm(top) not in pinned else [top]
        dist = next((pinned[_norm(n)] for n in names if _norm(n) in pinned), None)
        if dist is None or _norm(dist) in self.unavailable:
            return None
        promoted = replace(state, deps=(*state.deps, Dep((top,), (dist,), transitive=True)))
        return promoted, len(promoted.deps) - 1

    def _mark_unavailable(self, state: State, dist: str) -> None:
        self.unavailable.add(_norm(dist))
        for dep in state.deps:
            if _norm(dep.dist) == _norm(dist):
                self.unavailable_modules.update(m.lower() for m in dep.imports)

    def _exhausted(self) -> bool:
        return self.validations >= self.budget or not self._time_left()

    def _stuck_reason(self, verdict: Verdict, exhausted: bool = False) -> str:
        what = _describe(verdict)
        top = (verdict.missing_module or "").split(".")[0]
        if verdict.kind == IMPORT and top.lower() in self.unavailable_modules:
            return (f"no installable distribution provides {top} (not on the index, or no "
                    f"release builds here; a module of the snippet's own project?): {what}")
        if exhausted or self._exhausted():
            return f"gave up after {self.validations} validation(s) (budget or time limit); " \
                   f"best environment still fails: {what}"
        return f"no further move fixes: {what}"

    # -- moves -----------------------------------------------------------------

    def moves(self, state: State, verdict: Verdict) -> list[Move]:
        """Promising next states for this failure, cheapest and likeliest first."""
        kind = verdict.kind
        if kind == INSTALL:
            return self._install_moves(state, verdict)
        if kind == IMPORT:
            found = self._typelib_moves(state, verdict)
            if found:  # first; the usual moves stay behind it should the package not do
                return found + self._import_moves(state, verdict)
        if kind in (IMPORT, DRIFT) and verdict.responsible and \
                _SHARED_LIBRARY.search(verdict.exception_message or ""):
            # "libportaudio.so.2: cannot open shared object file": the library, not the release
            found = self._system_moves(state, verdict.responsible,
                                       f"{verdict.exception_name}: "
                                       f"{short(verdict.exception_message)}")
            if found:
                return found
        if kind == SYNTAX:
            return self._syntax_moves(state, verdict)
        if kind == IMPORT:
            return self._import_moves(state, verdict)
        if kind in (DRIFT, SNIPPET_ATTR):
            return self._drift_moves(state, verdict)
        if kind == TIMEOUT:
            return self._python_moves(state, "the run timed out before its imports finished")
        return []

    def _dep_moves(self, state: State, index: int, verdict: Verdict, why: str) -> list[Move]:
        """Older releases of one dependency: previous minor, previous major, then bisection."""
        dep = state.deps[index]
        current = dep.version or resolved_version(verdict, dep.dist)
        versions = self.releases.versions(dep.dist, state.python, state.as_of)
        ladder = version_ladder(versions, current)
        if not ladder:
            return []
        picks = [ladder[0]]
        cur = _version(current) if current else None
        if cur is not None:
            older_major = [v for v in ladder if (_version(v) or cur).major < cur.major]
            if older_major and older_major[0] != ladder[0]:
                picks.append(older_major[0])
        moves = [Move(state.with_dep(index, replace(dep, version=v)), "older",
                      f"{dep.dist} {current or 'newest'} -> {v} ({why})", dep.dist, current, v)
                 for v in picks]
        if len(ladder) > len(picks):
            # a marker: _bisect walks the ladder adaptively when the cheap moves fail
            moves.append(Move(state, "bisect", f"bisect {dep.dist} over {len(ladder)} older "
                              f"releases ({why})", dep.dist, current, None))
        return moves

    def _candidate_moves(self, state: State, index: int, why: str, *,
                         unavailable: bool = False) -> list[Move]:
        dep = state.deps[index]
        moves = []
        if dep.choice + 1 < len(dep.candidates):
            nxt = replace(dep, choice=dep.choice + 1, version=None)
            moves.append(Move(state.with_dep(index, nxt), "candidate",
                              f"{nxt.dist} instead of {dep.dist} ({why})"))
        elif dep.optional or dep.transitive:
            moves.append(Move(state.with_dep(index, None), "drop",
                              f"drop {dep.dist} ({why}; the import is optional)"))
        elif unavailable:
            moves.append(self._drop_move(state, index, why))
        return moves

    def _drop_missing(self, state: State, drop: Move) -> Move:
        """Drop every other dependency the index does not have either, in the same move:
        one at a time, each would only trade an install failure for the next one."""
        gone = [d for d in drop.state.deps if not d.optional
                and d.choice + 1 >= len(d.candidates) and not self.releases.exists(d.dist)]
        if not gone:
            return drop
        for dep in gone:
            self._mark_unavailable(drop.state, dep.dist)
        kept = tuple(d for d in drop.state.deps if d not in gone)
        names = ", ".join(d.dist for d in gone)
        return replace(drop, state=replace(drop.state, deps=kept),
                       why=f"{drop.why}; also without {names} (not on the index)")

    def _drop_move(self, state: State, index: int, why: str) -> Move:
        """Go on without a dependency nothing installs: the rest of the environment still
        gets validated, and a snippet that imports it lazily may run anyway."""
        dep = state.deps[index]
        return Move(state.with_dep(index, None), "drop",
                    f"go on without {dep.dist} ({why})", dep.dist)

    def _python_moves(self, state: State, why: str, *, other_major: bool = False,
                      among: Sequence[str] | None = None) -> list[Move]:
        """Up to two other Pythons (from ``among`` if given), dependencies re-derived."""
        if self.python_pinned:
            return []
        moves = []
        major = state.python.split(".")[0]
        pythons = list(among) if among is not None else self.pythons
        if other_major:
            pythons = [p for p in pythons if p.split(".")[0] != major]
        for py in pythons:
            if py == state.python:
                continue
            loosened = self._deps_on(py, state)
            moves.append(Move(State(py, self._as_of_for(py, state), loosened, state.system),
                              "python",
                              f"Python {py} instead of {state.python} ({why})"))
        return moves[:2]

    def _deps_on(self, python: str, state: State) -> tuple[Dep, ...]:
        """Dependencies for another Python: its stdlib differs, so re-derive them.

        Transitive additions are kept; every version goes back to "newest allowed".
        """
        kept = tuple(replace(d, version=None) for d in state.deps)
        if self.deps_for_python is None or python == state.python:
            return kept
        fresh = tuple(d for d in self.deps_for_python(python) if not self._is_unavailable(d))
        names = {_norm(d.dist) for d in fresh}
        extra = tuple(d for d in kept if d.transitive and _norm(d.dist) not in names)
        # a package with no release at all for that Python (appengine-python-standard on
        # 2.7) would only turn the move into an install failure
        as_of = self._as_of_for(python, state)
        return tuple(d for d in fresh + extra
                     if self.releases.versions(d.dist, python, as_of)
                     or not self.releases.exists(d.dist))

    def _is_unavailable(self, dep: Dep) -> bool:
        return _norm(dep.dist) in self.unavailable or \
            all(m.lower() in self.unavailable_modules for m in dep.imports)

    def _as_of_for(self, python: str, state: State) -> dt.date | None:
        if self.as_of_pinned:
            return state.as_of
        if python.startswith("2."):
            return PY2_ERAS[0][0]
        return None if state.python.startswith("2.") else state.as_of

    def _era_moves(self, state: State, why: str) -> list[Move]:
        """Move the whole environment back in time when no single package can be blamed."""
        if self.as_of_pinned:
            return []
        eras = PY2_ERAS if state.python.startswith("2.") else ERAS
        moves = []
        for when, py in eras:
            if state.as_of is not None and when >= state.as_of:
                continue
            python = state.python if self.python_pinned else py
            loosened = self._deps_on(python, state)
            moves.append(Move(State(python, when, loosened, state.system), "era",
                              f"everything as of {when.isoformat()} on Python {python} ({why})"))
        return moves

    def _install_moves(self, state: State, verdict: Verdict) -> list[Move]:
        failed = verdict.failed_requirement or verdict.responsible or ""
        index = state.index_of(failed) if failed else None
        if index is None and failed:
            index = next((i for i, d in enumerate(state.deps)
                          if _norm(d.dist) == _norm(failed.split("==")[0])), None)
        why = f"{failed or 'a requirement'} did not install"
        moves: list[Move] = self._system_moves(state, failed, why) if failed else []
        bare = state
        if moves:  # a missing C library fails every release alike: the other moves keep it
            state = moves[0].state
        if index is not None:
            dep = state.deps[index]
            if not self.releases.exists(dep.dist):
                moves = self._candidate_moves(state, index, f"{dep.dist} is not on the index",
                                              unavailable=True)
                if moves and moves[0].kind == "drop":
                    moves[0] = self._drop_missing(state, moves[0])
                return moves
            if not self.releases.versions(dep.dist, state.python, state.as_of):
                # no release for this Python at all (bpy on 3.8): go where it has some
                homes = [py for py in self.pythons if py != state.python
                         and self.releases.versions(dep.dist, py, self._as_of_for(py, state))]
                moves += self._python_moves(state, f"{dep.dist} has no release for Python "
                                            f"{state.python}", among=homes)
            moves += self._dep_moves(state, index, verdict, why)[:2]
            moves += self._past_cutoff_moves(state, index, verdict, why)
            moves += self._candidate_moves(state, index, why)
        moves += self._python_moves(state, why)
        moves += self._era_moves(state, why)
        if index is not None and not state.deps[index].optional:
            moves.append(self._drop_move(bare, index, f"{why}; no other move helped"))
        return moves

    def _past_cutoff_moves(self, state: State, index: int, verdict: Verdict,
                           why: str) -> list[Move]:
        """The newest release past the date cut-off, for a package no release of which by
        then builds here: old C sources break on today's compilers (GCC 10 made
        ``-fno-common`` the default: "multiple definition of ..." in RPi.GPIO 0.7.0), and
        a later release of the same line is often just that fix (RPi.GPIO 0.7.1)."""
        dep = state.deps[index]
        if state.as_of is None or self.as_of_pinned:
            return []
        within = self.releases.versions(dep.dist, state.python, state.as_of)
        floor = _version(dep.version or resolved_version(verdict, dep.dist)
                         or (within[-1] if within else ""))
        later = [v for v in self.releases.versions(dep.dist, state.python, None)
                 if v not in within and (parsed := _version(v)) is not None
                 and not parsed.is_prerelease and (floor is None or parsed > floor)]
        if not later:
            return []
        newest = max(later, key=lambda v: _version(v) or Version("0"))
        return [Move(state.with_dep(index, replace(dep, version=newest)), "newer",
                     f"{dep.dist} {floor or 'newest'} -> {newest}, past the "
                     f"{state.as_of.isoformat()} cut-off ({why})", dep.dist,
                     str(floor) if floor else None, newest)]

    def _system_moves(self, state: State, dist: str, why: str) -> list[Move]:
        """Build (and run) with the Debian packages ``dist`` is known to need: a missing C
        library fails every release alike, so stepping versions would only waste runs."""
        if self.system_packages is None:
            return []
        name = dist.split("==")[0].strip()
        return _with_system(state, self.system_packages(name), why, name)

    def _typelib_moves(self, state: State, verdict: Verdict) -> list[Move]:
        """``from gi.repository import Notify`` found no typelib: no Python package
        provides one, only the Debian package of that library does."""
        match = _TYPELIB.search(verdict.exception_message or "")
        if match is None or self.typelib_packages is None:
            return []
        why = f"{verdict.exception_name}: {short(verdict.exception_message)}"
        return _with_system(state, self.typelib_packages(match.group(1)), why)

    def _prerelease_moves(self, state: State, index: int, verdict: Verdict,
                          why: str) -> list[Move]:
        """A newer pre-release of a package whose last final release is Python 2 only."""
        dep = state.deps[index]
        if dep.version is not None:
            return []
        current = _version(resolved_version(verdict, dep.dist) or "")
        newer = [v for v in self.releases.prereleases(dep.dist, state.python)
                 if current is None or (_version(v) or current) > current]
        if not newer:
            return []
        return [Move(state.with_dep(index, replace(dep, version=newer[-1])), "newer",
                     f"{dep.dist} pre-release {newer[-1]} ({why})", dep.dist,
                     str(current) if current else None, newer[-1])]

    def _syntax_moves(self, state: State, verdict: Verdict) -> list[Move]:
        why = f"SyntaxError at line {verdict.line}" if verdict.line else "SyntaxError"
        if verdict.in_package and verdict.responsible:
            index = state.index_of(verdict.responsible)
            if index is not None:
                # Python-2-only packages fail to parse on 3: the interpreter is the lever
                return self._python_moves(state, why, other_major=True) \
                    + self._prerelease_moves(state, index, verdict, why) \
                    + self._dep_moves(state, index, verdict, f"{why} inside the package") \
                    + self._candidate_moves(state, index, f"{why} inside the package") \
                    + self._era_moves(state, why)
        return self._python_moves(state, why, other_major=True) or \
            self._python_moves(state, why)

    def _import_moves(self, state: State, verdict: Verdict) -> list[Move]:
        missing = verdict.missing_module or ""
        message = verdict.exception_message or ""
        name_match = _CANNOT_IMPORT.search(message)
        why = f"{verdict.exception_name}: {short(message)}"
        source = name_match.group(2) if name_match else self._from_module_on_line(verdict)
        if source and self.stdlib_in is not None and \
                self.stdlib_in(source.split(".")[0], state.python):
            # the standard library itself lacks it (subprocess.getoutput on 2.7,
            # collections.Mapping on 3.10): another Python has it
            return self._python_moves(state, why, other_major=state.python.startswith("2.")) \
                + self._era_moves(state, why)
        if source:  # "cannot import name X from pkg": the package changed under us
            found = self._index_or_promote(state, source, verdict)
            if found is not None:
                base, at = found
                py2 = _CANNOT_IMPORT_PY2.search(message)
                name = name_match.group(1) if name_match else py2.group(1) if py2 else ""
                # a submodule that moved (from oauth2client import appengine: 1.5 -> contrib)
                holder = self._holder_moves(base, at, f"{source}.{name}", verdict, why,
                                            maybe_module=True) \
                    if name.islower() else []
                # or another distribution of the same import has it (pdfminer vs pdfminer.six)
                older = holder + self._dep_moves(base, at, verdict, why)
                others = self._candidate_moves(base, at, why)
                if others and others[0].kind == "candidate":
                    # whose newest release may have moved the name too (path.py 12, like
                    # path 16): walk its releases as well
                    alt = others[0].state.deps[at]
                    others.append(Move(others[0].state, "bisect",
                                       f"bisect {alt.dist} ({why})", alt.dist, None, None))
                return older[:2] + others[:1] + older[2:] + others[1:] + \
                    self._era_moves(state, why)
        needed = _REQUIRES.search(message)
        if not missing and needed and state.index_of(needed.group(1)) is None \
                and needed.group(1).lower() not in self.unavailable_modules:
            # "IPython.zmq requires pyzmq >= 2.1.4": a package names what it lacks
            return [m for m in self._add_moves(state, needed.group(1), why, verdict)
                    if m.kind == "add"] + self._import_moves_by_module(state, verdict, why)
        return self._import_moves_by_module(state, verdict, why)

    def _import_moves_by_module(self, state: State, verdict: Verdict, why: str) -> list[Move]:
        missing = verdict.missing_module or ""
        message = verdict.exception_message or ""
        top = missing.split(".")[0]
        if top and top.lower() in self.unavailable_modules:
            return []  # dropped on purpose: nothing installable provides it
        index = state.index_of(top) if top else None
        if index is None and verdict.responsible and not missing:
            index = state.index_of(verdict.responsible)
        if index is not None:
            dep = state.deps[index]
            if "." in missing and top.lower() in (m.lower() for m in dep.imports):
                # a submodule went away (sklearn.cross_validation): older releases
                return self._holder_moves(state, index, missing, verdict, why) + \
                    self._dep_moves(state, index, verdict, why) + self._era_moves(state, why)
            if top and _CANNOT_IMPORT_PY2.search(message) is None:
                # the chosen distribution does not provide the module: try the next one
                return self._candidate_moves(state, index, why) + \
                    self._dep_moves(state, index, verdict, why)[:1]
            return self._dep_moves(state, index, verdict, why) + self._era_moves(state, why)
        if "." in missing:
            # a submodule went away from a package some dependency pulled in (flask.ext)
            found = self._index_or_promote(state, top, verdict)
            if found is not None:
                promoted, index = found
                return self._holder_moves(promoted, index, missing, verdict, why) + \
                    self._dep_moves(promoted, index, verdict, why) + \
                    self._era_moves(state, why)
        if top and self.stdlib_in is not None and not self.python_pinned:
            homes = [py for py in self.pythons
                     if py != state.python and self.stdlib_in(top, py)]
            if homes and not self.stdlib_in(top, state.python):
                # urllib2, cStringIO...: the snippet wants another Python, not a package
                return self._python_moves(state, f"{top} is in its standard library",
                                          among=homes)
        if top:
            return self._add_moves(state, top, why, verdict)
        return self._era_moves(state, why)

    def _holder_moves(self, state: State, index: int, module: str, verdict: Verdict,
                      why: str, *, maybe_module: bool = False) -> list[Move]:
        """The newest older release whose files still hold ``module``, read off the index
        (see ``contents``): one validation instead of a bisection, and it finds a module
        that lived in a single patch release, which the per-minor ladder never probes.

        ``maybe_module``: "cannot import name x from pkg", where x may be a function as
        well as a submodule: only one release per minor is read, and a module no release
        ever shipped says nothing about the distribution."""
        ships = self.releases.ships
        dep = state.deps[index]
        current = dep.version or resolved_version(verdict, dep.dist)
        cur = _version(current) if current else None
        if cur is None or ships(dep.dist, str(current), module) is not False:
            return []  # the release in use has it (or nobody knows): the failure is elsewhere
        older = [v for v in self.releases.versions(dep.dist, state.python, state.as_of)
                 if (p := _version(v)) is not None and p < cur and not p.is_prerelease]
        ladder = version_ladder(older, current)

        def to(version: str) -> list[Move]:
            return [Move(state.with_dep(index, replace(dep, version=version)), "older",
                         f"{dep.dist} {current} -> {version}, the newest release that "
                         f"ships {module} ({why})", dep.dist, current, version)]

        if maybe_module:
            found_at = self._newest_holder(ships, dep.dist, ladder, module)
            return [] if found_at is None else to(found_at)
        # one release per minor first (cheap to rule out), then every other patch
        order = ladder + [v for v in reversed(older) if v not in ladder]
        stop = time.monotonic() + HOLDER_SECONDS
        known = 0
        for version in order[:HOLDER_PROBES]:
            if not self._time_left() or time.monotonic() > stop:
                break
            found = ships(dep.dist, version, module)
            if found:
                return to(version)
            known += found is not None
        if known == len(order):
            # no release ever had it: another project of that import name (a namesake
            # on PyPI), not an older release of this one
            return self._candidate_moves(state, index, f"{why}; no release of {dep.dist} "
                                         f"ships {module}")
        return []

    def _newest_holder(self, ships: Callable[[str, str, str], bool | None], dist: str,
                       ladder: Sequence[str], module: str) -> str | None:
        """Where a module that went away was last shipped, in a few file lists: most names
        in "cannot import name" are functions, which the oldest release rules out at once;
        a module that was there is found by bisecting the ladder (newest first), taking
        presence as monotone (in old releases, gone from new ones)."""
        if not ladder or not ships(dist, ladder[-1], module):
            return None
        lo, hi = -1, len(ladder) - 1  # ladder[hi] ships it; nothing newer than lo does
        while hi - lo > 1 and self._time_left():
            mid = (lo + hi) // 2
            if ships(dist, ladder[mid], module):
                hi = mid
            else:
                lo = mid
        return ladder[hi]

    def _add_moves(self, state: State, module: str, why: str, verdict: Verdict) -> list[Move]:
        """A module nobody provides: add a distribution for it (keras -> tensorflow)."""
        candidates = [c for c in self.lookup(module)
                      if all(_norm(c) != _norm(d.dist) for d in state.deps)
                      and _norm(c) not in self.unavailable]
        transitive = verdict.in_package or module.lower() not in self.snippet_imports
        moves = []
        if candidates:
            dep = Dep(imports=(module,), candidates=tuple(candidates), transitive=transitive)
            added = replace(state, deps=(*state.deps, dep))
            moves.append(Move(added, "add", f"add {dep.dist} for {module} ({why})"))
        if verdict.in_package and verdict.responsible:
            index = state.index_of(verdict.responsible)
            if index is not None:
                moves += self._dep_moves(state, index, verdict, why)[:2]
        return moves + self._era_moves(state, why)

    def _module_on_line(self, verdict: Verdict) -> str | None:
        """Python 2 says "'module' object has no attribute 'x'": find ``alias.x`` on the line."""
        match = _PY2_MODULE_ATTR.search(verdict.exception_message or "")
        line = str((verdict.record.get("execution") or {}).get("exception_line") or "")
        if not match or not line:
            return None
        used = re.search(r"([A-Za-z_][\w.]*)\." + re.escape(match.group(1)) + r"\b", line)
        if used is None:
            return None
        name = used.group(1)
        return self.aliases.get(name.split(".")[0], name)

    @staticmethod
    def _from_module_on_line(verdict: Verdict) -> str | None:
        """Python 2 says only "cannot import name X": the ``from M import`` on the line says M."""
        if _CANNOT_IMPORT_PY2.search(verdict.exception_message or "") is None:
            return None
        line = str((verdict.record.get("execution") or {}).get("exception_line") or "")
        match = re.match(r"\s*from\s+([\w.]+)\s+import\b", line)
        return match.group(1) if match else None

    def _drift_moves(self, state: State, verdict: Verdict) -> list[Move]:
        why = f"{verdict.exception_name}: {short(verdict.exception_message)}"
        blamed: str | None = None
        if verdict.in_package and verdict.responsible:
            blamed = verdict.responsible
        else:
            match = _MODULE_ATTR.search(verdict.exception_message or "")
            if match:
                blamed = match.group(1)
            elif verdict.responsible:
                blamed = verdict.responsible
            else:
                blamed = self._module_on_line(verdict)
        found = self._index_or_promote(state, blamed, verdict) if blamed else None
        if found is not None:
            promoted, index = found
            return self._dep_moves(promoted, index, verdict, why) + self._era_moves(state, why)
        return self._era_moves(state, why) + self._python_moves(state, why)[:1]


_PY2_MODULE_ATTR = re.compile(r"'module' object has no attribute '(\w+)'")


def _moved_on(before: Verdict, after: Verdict) -> bool:
    """A different failure at the same point can still be progress.

    Another class of error at import time, or another missing module in the same
    import statement (the first one is now found), means the move fixed something.
    """
    if after.progress() < before.progress():
        return False
    if after.kind != before.kind:
        return after.kind not in (INSTALL, SYNTAX, TIMEOUT)
    if after.kind == IMPORT and before.missing_module:
        if _says_gone(after):
            return False  # found, but only a stub saying it went away (pandas.io.data)
        if after.missing_module and after.line == before.line and \
                (before.missing_module + ".").startswith(after.missing_module + "."):
            # the module itself (or its package) is gone now: a step back, not on
            return False
        # the module that was missing is found now, whatever fails next
        return after.missing_module != before.missing_module
    return False


def _with_system(state: State, packages: Sequence[str], why: str,
                 package: str | None = None) -> list[Move]:
    """The system move adding those of ``packages`` the state lacks (none if it has all)."""
    extra = [p for p in packages if p not in state.system]
    if not extra:
        return []
    system = tuple(sorted({*state.system, *extra}))
    return [Move(replace(state, system=system), "system",
                 f"with the system packages {', '.join(extra)} ({why})", package)]


def _keeping_only(deps: Sequence[Dep], package: str) -> tuple[Dep, ...]:
    """``deps`` with only ``package``'s pin kept: on another Python the others re-resolve."""
    return tuple(d if _norm(d.dist) == _norm(package) else replace(d, version=None)
                 for d in deps)


def _failed_name(v: Verdict) -> str:
    """The distribution an install failure names, normalised ("" when none)."""
    return _norm((v.failed_requirement or v.responsible or "").split("==")[0].strip())


_GONE = re.compile(r"\b(?:deprecated|moved|removed|renamed|no longer)\b", re.IGNORECASE)


def _says_gone(v: Verdict) -> bool:
    """An import failure whose message says the API went away: a stub a release left
    where the module was ("The pandas.io.data module is moved to a separate package"),
    so older releases still have it."""
    return v.kind in (IMPORT, DRIFT) and bool(_GONE.search(v.exception_message or ""))


def _same_failure(a: Verdict, b: Verdict) -> bool:
    """The same error where it was (messages compared without paths)."""
    return (a.kind, a.exception_name, a.line, short(a.exception_message)) == \
        (b.kind, b.exception_name, b.line, short(b.exception_message))


def _batches(moves: Sequence[Move], width: int) -> list[list[Move]]:
    return [list(moves[i:i + width]) for i in range(0, len(moves), width)]


def _describe(v: Verdict) -> str:
    if v.kind == SUCCESS:
        return "success"
    if v.kind == TIMEOUT_IMPORTS:
        return "imports completed, then ran until the time limit (environment fine)"
    if v.kind == INSTALL:
        return f"install failure ({v.failed_requirement or 'unknown requirement'})"
    where = f" at line {v.line}" if v.line else ""
    msg = short(v.exception_message, 100)
    return f"{v.exception_name or v.kind}{where}: {msg}".rstrip(": ")


def _step(move: Move, verdict: Verdict, *, kept: bool) -> dict[str, object]:
    return {"move": move.kind, "why": move.why, "python": move.state.python,
            "as_of": move.state.as_of.isoformat() if move.state.as_of else None,
            "requirements": list(move.state.attempt().requirements),
            "result": verdict.kind, "detail": _describe(verdict), "kept": kept}
