"""``driftdoc explain``: the version boundary where a snippet's behaviour changes.

From the environment ``run`` found, each direct dependency is moved alone (the others
stay at their working pins, Python stays the same) and bisected over its releases: first
the newest release of each minor series, then the releases between the last that works
and the first that fails, so the answer is the exact boundary (``scikit-learn >= 0.20``)
with the validations on each side as evidence. A release that does not install or build
here says nothing about the snippet: it is *unknown*, set aside, and the bisection probes
its neighbour instead. Every probe is a memoised validation (``AttemptMemo``), so what
``run`` already validated costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.search.result import EnvResult
from driftdoc.env.search.runner import AttemptMemo
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.schema import stamped

PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"
# Verdicts that say nothing about the snippet's behaviour under a release.
NO_EVIDENCE = frozenset({Kind.INSTALL, Kind.TIMEOUT})


@dataclass(frozen=True)
class Probe:
    """One validation of the explanation: a release of one package, and what it said."""

    package: str
    version: str
    outcome: str  # pass | fail | unknown
    result: str  # the verdict's kind
    detail: str
    cached: bool  # answered from the store (validated before)

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "version": self.version, "outcome": self.outcome,
                "result": self.result, "detail": self.detail, "cached": self.cached}


@dataclass
class Boundary:
    """Where the behaviour changes: fails for ``package op version`` and works otherwise
    (as far as the probes reach)."""

    package: str
    op: str  # ">=": newer releases break it; "<": older ones do
    version: str
    passes: list[Probe] = field(default_factory=list)
    fails: list[Probe] = field(default_factory=list)
    unknown: list[Probe] = field(default_factory=list)

    def text(self) -> str:
        return f"{self.package} {self.op} {self.version}"

    def to_json(self) -> dict[str, Any]:
        return {"package": self.package, "op": self.op, "version": self.version,
                "text": self.text(), "passes": [p.to_json() for p in self.passes],
                "fails": [p.to_json() for p in self.fails],
                "unknown": [p.to_json() for p in self.unknown]}


@dataclass
class Explanation:
    """What ``explain`` found: the boundaries, every probe, and what it cost."""

    snippet: str
    status: str  # explained | no-drift | inconclusive | no-environment
    python: str | None
    boundaries: list[Boundary]
    probes: list[Probe]
    validations: int  # probes that ran a validation (the rest came from the store)
    budget: int
    message: str
    environment: EnvResult

    @property
    def explained(self) -> bool:
        return self.status == "explained"

    def text(self) -> list[str]:
        return [b.text() for b in self.boundaries]

    def to_json(self) -> dict[str, Any]:
        return stamped("explain", {
            "snippet": self.snippet, "status": self.status, "python": self.python,
            "text": self.text(),
            "causes": [[[b.package, b.op, b.version]] for b in self.boundaries],
            "boundaries": [b.to_json() for b in self.boundaries],
            "probes": [p.to_json() for p in self.probes],
            "validations": self.validations, "budget": self.budget,
            "message": self.message, "environment": self.environment.to_json(),
        })


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def minor_ladder(versions: Sequence[str]) -> list[str]:
    """The newest release of each minor series, oldest first (the first bisection's rungs)."""
    best: dict[tuple[int, int], Version] = {}
    for text in versions:
        v = _version(text)
        if v is None or v.is_prerelease or v.is_devrelease:
            continue
        key = (v.major, v.minor)
        if key not in best or v > best[key]:
            best[key] = v
    return [str(v) for v in sorted(best.values())]


def direct_pins(result: EnvResult) -> dict[str, str]:
    """Each direct dependency at the version the working environment installed."""
    installed = {canonicalize_name(n): v for n, _, v in
                 (p.partition("==") for p in result.requirements) if v}
    pins: dict[str, str] = {}
    for req in result.direct:
        name, _, version = req.partition("==")
        version = version or installed.get(canonicalize_name(name), "")
        if version:
            pins[name] = version
    return pins


def _outcome(verdict: Verdict) -> str:
    if verdict.kind in NO_EVIDENCE:
        return UNKNOWN
    return PASS if verdict.ok else FAIL


class _Prober:
    """Validates one package at one release, the rest of the environment as it worked."""

    def __init__(self, result: EnvResult, memo: AttemptMemo, budget: int,
                 reporter: Reporter) -> None:
        assert result.python is not None
        self.result = result
        self.python = result.python
        self.memo = memo
        self.budget = budget
        self.reporter = reporter
        self.pins = direct_pins(result)
        self.probes: list[Probe] = []
        self.fresh = 0
        self._seen: dict[tuple[str, str], Probe] = {}
        for name, version in self.pins.items():  # what run validated is evidence too
            self._seen[(name, version)] = Probe(
                name, version, PASS, result.classification or "success",
                "the working environment run found", True)

    def left(self) -> int:
        return self.budget - self.fresh

    def __call__(self, package: str, version: str) -> Probe | None:
        key = (package, version)
        if key in self._seen:
            return self._seen[key]
        if self.left() <= 0:
            return None
        reqs = tuple(f"{name}=={version if name == package else pinned}"
                     for name, pinned in self.pins.items())
        attempt = Attempt(self.python, reqs, None, tuple(self.result.system_packages))
        before = self.memo.fresh
        verdict = self.memo([attempt])[0]
        if verdict is None:
            return None
        cached = self.memo.fresh == before
        self.fresh += 0 if cached else 1
        detail = verdict.exception_name or verdict.kind.value
        if verdict.exception_message:
            detail = f"{detail}: {verdict.exception_message}"[:200]
        if verdict.kind is Kind.INSTALL:
            detail = f"does not install here ({verdict.failed_requirement or package})"
        probe = Probe(package, version, _outcome(verdict), verdict.kind.value, detail, cached)
        self._seen[key] = probe
        self.probes.append(probe)
        self.reporter(Note(f"explain: {package} {version}: {probe.outcome} ({detail})"))
        return probe


Judge = Callable[[str], Probe | None]


class _OutOfBudget(Exception):
    """The explanation's budget ran out before the boundary was bracketed."""


def _judged(judge: Judge, version: str) -> Probe:
    probe = judge(version)
    if probe is None:
        raise _OutOfBudget
    return probe


def _bisect(rungs: list[str], good: str, bad: str, judge: Judge) -> tuple[str, str]:
    """Narrow ``good`` (works) .. ``bad`` (fails) to adjacent known releases among
    ``rungs`` (sorted, both ends included); unknown releases are skipped."""
    lo, hi = rungs.index(good), rungs.index(bad)
    skipped: set[int] = set()
    while True:
        inner = [i for i in range(min(lo, hi) + 1, max(lo, hi)) if i not in skipped]
        if not inner:
            return rungs[lo], rungs[hi]
        mid = inner[len(inner) // 2]
        probe = _judged(judge, rungs[mid])
        if probe.outcome == UNKNOWN:
            skipped.add(mid)
        elif probe.outcome == PASS:
            lo = mid
        else:
            hi = mid


def _side(package: str, anchor: str, versions: list[str], judge: Judge,
          newer: bool) -> tuple[str, str] | None:
    """The (works, fails) pair on one side of the anchor; None when the far end works
    (no boundary on that side)."""
    key = _version(anchor)
    assert key is not None
    rungs = [v for v in minor_ladder(versions)
             if (_version(v) or key) > key] if newer else \
        [v for v in minor_ladder(versions) if (_version(v) or key) < key]
    if not rungs:
        return None
    ends = rungs[::-1] if newer else rungs  # the far end first, then inwards past unknowns
    far = None
    for version in ends:
        probe = _judged(judge, version)
        if probe.outcome != UNKNOWN:
            far = probe
            break
    if far is None or far.outcome == PASS:
        return None
    ladder = sorted({*rungs, anchor}, key=lambda v: _version(v) or key)
    pair = _bisect(ladder, anchor, far.version, judge)
    good, bad = pair
    # refine between the two rungs over every release (a minor's first patch may differ)
    lo, hi = sorted((_version(good) or key, _version(bad) or key))
    between = sorted((v for v in versions if (pv := _version(v)) is not None
                      and not pv.is_prerelease and lo <= pv <= hi),
                     key=lambda v: _version(v) or key)
    return _bisect(between, good, bad, judge) if len(between) > 2 else pair


def explain_result(snippet: Path, result: EnvResult, *, memo: AttemptMemo,
                   releases: ReleaseProvider, budget: int = 40,
                   reporter: Reporter = null_reporter) -> Explanation:
    """Bisect each direct dependency around the working environment for its boundaries."""
    def done(status: str, message: str, prober: _Prober | None = None,
             boundaries: list[Boundary] | None = None) -> Explanation:
        return Explanation(str(snippet), status, result.python, boundaries or [],
                           prober.probes if prober else [], prober.fresh if prober else 0,
                           budget, message, result)

    if result.python is None or not result.resolved:
        return done("no-environment", f"no working environment to explain from: "
                    f"{result.reason or 'the search found none'}")
    prober = _Prober(result, memo, budget, reporter)
    if not prober.pins:
        raise InputError("the snippet has no third-party packages, so there is no drift")
    boundaries: list[Boundary] = []
    exhausted = False
    for package, anchor in prober.pins.items():
        versions = releases.versions(package, result.python, None)

        def judge(version: str, package: str = package) -> Probe | None:
            return prober(package, version)

        for newer in (True, False):
            try:
                pair = _side(package, anchor, versions, judge, newer)
            except _OutOfBudget:
                exhausted = True
                break
            if pair is None:
                continue
            good, bad = pair
            first = prober(package, anchor)  # the anchor: known from run, never re-run
            mine = [*([first] if first else []),
                    *(p for p in prober.probes if p.package == package)]
            if newer:
                boundary = Boundary(canonicalize_name(package), ">=", bad)
                side = [p for p in mine if (_version(p.version) or Version("0")) >=
                        (_version(anchor) or Version("0"))]
            else:
                boundary = Boundary(canonicalize_name(package), "<", good)
                side = [p for p in mine if (_version(p.version) or Version("0")) <=
                        (_version(anchor) or Version("0"))]
            side.sort(key=lambda p: _version(p.version) or Version("0"))
            boundary.passes = [p for p in side if p.outcome == PASS]
            boundary.fails = [p for p in side if p.outcome == FAIL]
            boundary.unknown = [p for p in side if p.outcome == UNKNOWN]
            boundaries.append(boundary)
        if exhausted:
            break
    unknown = sum(p.outcome == UNKNOWN for p in prober.probes)
    note = f" ({unknown} release(s) did not install here: unknown, not failures)" \
        if unknown else ""
    if exhausted:
        return done("inconclusive", f"the budget of {budget} validation(s) ran out before "
                    f"every boundary was bracketed{note}", prober, boundaries)
    if not boundaries:
        return done("no-drift", "every release probed on either side works" + note, prober)
    return done("explained", f"{len(prober.probes)} validation(s), {prober.fresh} new{note}",
                prober, boundaries)
