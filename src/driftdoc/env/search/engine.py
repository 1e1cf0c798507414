"""The walk of the repair search: it knows failures, moves and budgets, and no package.

From a first state the engine asks its :class:`Domain` (the rulebook) for moves against
the current failure, validates them in batches through :class:`~.trials.Trials`, walks
bisection markers probe by probe, lets the domain complete a move after its validation,
and keeps the move that gets furthest (V2's checkpoint: the failure moves later in the
snippet). It stops when the environment works, no move helps, or the budget runs out.

Time is shared out: a bisection may spend only ``bisect_share`` of the time left when it
starts (one slow bisection of source builds must not eat the snippet's limit), and a move
the domain knows to be doomed (a release that failed to build here) is never validated.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from driftdoc.env.search.result import DriftFix
from driftdoc.env.search.state import (
    Move,
    MoveKind,
    SearchOutcome,
    State,
    Tried,
    Trying,
    step,
)
from driftdoc.env.search.trials import Trials
from driftdoc.env.validation.failure import Failure, Kind
from driftdoc.env.validation.verdict import Verdict
from driftdoc.events import Note, Reporter, null_reporter

Tested = tuple[Move, Verdict]
Run = Callable[[Sequence[Move]], list[Tested]]


@dataclass(frozen=True)
class Bisection:
    """Versions to bisect, newest first, in the parts to search one after the other, and
    how to make the probe of one version."""

    parts: list[list[str]]
    probe: Callable[[str], Move]


class Domain(Protocol):
    """What the engine asks of the world it searches (the rulebook)."""

    def moves(self, state: State, verdict: Verdict) -> list[Move]:
        """Promising next states for this failure, in the order to try them."""
        ...

    def prepare(self, move: Move) -> Move:
        """The move as it should be validated (it may go elsewhere first)."""
        ...

    def complete(self, move: Move, verdict: Verdict, run: Run) -> Tested:
        """The move completed after its validation (it may cost more validations)."""
        ...

    def bisection(self, marker: Move) -> Bisection | None:
        """The versions a bisection marker walks, or None when there is nothing to walk."""
        ...

    def kept(self, before: State, move: Move, verdict: Verdict,
             after: Verdict) -> list[DriftFix]:
        """A move was kept: remember what it implies; the drift it fixed (every version it
        changed)."""
        ...

    def stuck(self, failure: Failure) -> str | None:
        """Why nothing helps, when the domain knows better than "no further move fixes"."""
        ...

    def learn(self, move: Move, verdict: Verdict) -> None:
        """A validation finished: remember what it shows beyond this move (a failed build)."""
        ...

    def doomed(self, move: Move) -> str | None:
        """Why validating ``move`` would only repeat a known failure, if it would."""
        ...


def moved_on(before: Failure, after: Failure) -> bool:
    """A different failure at the same point can still be progress.

    Another class of error at import time, or another missing module in the same
    import statement (the first one is now found), means the move fixed something.
    """
    if after.progress() < before.progress():
        return False
    if after.kind is not before.kind:
        return after.kind not in (Kind.INSTALL, Kind.SYNTAX, Kind.TIMEOUT)
    if after.kind is Kind.IMPORT and before.module:
        if after.says_gone:
            return False  # found, but only a stub saying it went away (pandas.io.data)
        if after.module and after.line == before.line and \
                (before.module + ".").startswith(after.module + "."):
            # the module itself (or its package) is gone now: a step back, not on
            return False
        # the module that was missing is found now, whatever fails next
        return after.module != before.module
    return False


def better(before: Failure, after: Failure) -> bool:
    """Is ``after`` a step forward from ``before``?"""
    return after.ok or after.progress() > before.progress() or moved_on(before, after)


BISECT_SHARE = 0.5
"""The share of the time left that one bisection may spend: the rest stays for other moves
(another candidate, another Python, an era), which may not need a source build at all."""


def _spread(lo: int, hi: int, k: int) -> list[int]:
    """Up to ``k`` probe indices strictly between ``lo`` and ``hi``, evenly spaced (``k``
    parallel probes cut the interval in ``k + 1`` parts; one probe is the midpoint)."""
    inside = hi - lo - 1
    k = max(1, min(k, inside))
    return sorted({lo + (i * (hi - lo)) // (k + 1) for i in range(1, k + 1)})


def _batches(moves: Sequence[Move], width: int) -> list[list[Move]]:
    return [list(moves[i:i + width]) for i in range(0, len(moves), width)]


class Engine:
    """Walks from ``start`` towards a working environment."""

    def __init__(self, start: State, domain: Domain, trials: Trials, *, width: int = 1,
                 reporter: Reporter = null_reporter,
                 on_kept: Callable[[SearchOutcome], None] | None = None,
                 bisect_share: float = BISECT_SHARE) -> None:
        self.start = start
        self.domain = domain
        self.trials = trials
        self.width = max(1, width)
        self.reporter = reporter
        self.on_kept = on_kept
        self.bisect_share = bisect_share
        self.cut: list[str] = []  # bisections stopped at their time budget, said in the result
        self.skipped = 0  # moves not validated because they were known to fail

    def _run(self, moves: Sequence[Move]) -> list[Tested]:
        return self._validate(self._admit(moves))

    def _admit(self, moves: Sequence[Move]) -> list[Move]:
        """``moves`` as the domain prepares them, less those known to fail (said, counted)."""
        prepared = []
        for move in (self.domain.prepare(m) for m in moves):
            why = self.domain.doomed(move)
            if why is None:
                prepared.append(move)
            else:
                self.skipped += 1
                self.reporter(Note(f"skipped {move.why}: {why}"))
        return prepared

    def _validate(self, prepared: Sequence[Move]) -> list[Tested]:
        """Validate moves already prepared, telling the domain what each one showed."""
        def starting(indices: list[int]) -> None:
            self.reporter(Trying(tuple(prepared[i].why for i in indices)))

        verdicts = self.trials.run([m.state.attempt() for m in prepared], starting)
        out = []
        for move, verdict in zip(prepared, verdicts, strict=True):
            if verdict is None:
                continue
            self.reporter(Tried(move.why, verdict.failure.describe(), verdict.seconds))
            self.domain.learn(move, verdict)
            out.append((move, verdict))
        return out

    def _complete(self, tried: list[Tested]) -> list[Tested]:
        return [self.domain.complete(m, v, self._run) for m, v in tried]

    def _checkpoint(self, outcome: SearchOutcome) -> None:
        if self.on_kept is not None:
            outcome.validations = self.trials.validations
            self.on_kept(outcome)

    def run(self) -> SearchOutcome:
        first = Move(self.start, MoveKind.START, "the first plan")
        results = self._run([first])
        if not results:
            return SearchOutcome(self.start, None, validations=self.trials.validations,
                                 reason="no validation could be run (budget or time limit)")
        state, verdict = self.start, results[0][1]
        outcome = SearchOutcome(state, verdict, validations=self.trials.validations)
        outcome.steps.append(step(first, verdict, kept=True))
        self._checkpoint(outcome)
        while not verdict.ok:
            moves = self.domain.moves(state, verdict)
            if not moves:
                outcome.reason = self._stuck(verdict.failure)
                break
            best = self._round(verdict, moves, outcome)
            if best is None:
                outcome.reason = self._stuck(verdict.failure, exhausted=self.trials.exhausted())
                break
            move, new = best
            outcome.drift.extend(self.domain.kept(state, move, verdict, new))
            self.reporter(Note(f"kept: {move.why}"))
            state, verdict = move.state, new
            outcome.state, outcome.verdict = state, verdict
            self._checkpoint(outcome)
        outcome.validations = self.trials.validations
        outcome.notes.extend(self.cut)
        if self.skipped:
            outcome.notes.append(f"{self.skipped} move(s) not validated: a release they pin "
                                 "failed to build from source here before")
        failure = verdict.failure
        if failure.ok and failure.kind is Kind.SNIPPET:
            what = failure.exception or failure.brief(80) or "a failure"
            outcome.reason = (
                f"{what} in the snippet's own code"
                + (f" at line {failure.line}" if failure.line else "")
                + " is not repairable by changing the environment; "
                "the environment works up to that point")
        return outcome

    def _round(self, verdict: Verdict, moves: list[Move],
               outcome: SearchOutcome) -> Tested | None:
        """Try ``moves`` batch by batch until one gets further; the furthest of its batch."""
        best: Tested | None = None
        failed_versions: set[str] = set()
        for batch in _batches(moves, self.width):
            tried = self._complete(self._run([m for m in batch if not m.is_marker]))
            for marker in (m for m in batch if m.is_marker):
                found = self._bisect(verdict, marker, failed_versions, outcome)
                if found is not None and (best is None or found[1].failure.progress()
                                          > best[1].failure.progress()):
                    best = found
            for m, v in tried:
                forward = better(verdict.failure, v.failure)
                outcome.steps.append(step(m, v, kept=forward))
                if forward and (best is None
                                or v.failure.progress() > best[1].failure.progress()):
                    best = (m, v)
                elif not forward and m.to_version:
                    failed_versions.add(m.to_version)
            if best is not None or self.trials.exhausted():
                break
        return best

    def _bisect(self, verdict: Verdict, marker: Move, failed: set[str],
                outcome: SearchOutcome) -> Tested | None:
        """Binary search for the newest version that gets further.

        Versions newer than a probe that fails the same way fail too (drift is monotone
        in time); a version too old to install here means the answer is newer. The parts
        are searched in order; a later part only when every probe of the earlier ones
        failed the same way. With ``width`` > 1 that many probes run at once (a k-ary
        search); a release known not to build here leaves the ladder unvalidated. The
        bisection stops at its time budget, and the result says so.
        """
        plan = self.domain.bisection(marker)
        if plan is None:
            return None
        before = verdict.failure
        best: Tested | None = None
        left = self.trials.seconds_left()
        limit = None if left is None else self.bisect_share * left
        started, slowest, probes = time.monotonic(), 0.0, 0
        for part in plan.parts:
            lo = max((part.index(v) for v in failed if v in part), default=-1)
            hi = len(part)
            while hi - lo > 1 and not self.trials.exhausted():
                spent = time.monotonic() - started
                if limit is not None and probes and spent + slowest > limit:
                    self._cut_short(marker, part, lo, hi, probes, spent, limit, left or 0.0)
                    return best
                runnable = [(i, plan.probe(part[i])) for i in _spread(lo, hi, self.width)]
                prepared = [self.domain.prepare(m) for _, m in runnable]
                doomed = [i for (i, _), m in zip(runnable, prepared, strict=True)
                          if self.domain.doomed(m) is not None]
                if doomed:
                    # known not to build here: it says nothing about the boundary, so it
                    # leaves the ladder (as a release that does not install in explain)
                    part = [v for i, v in enumerate(part) if i not in doomed]
                    hi -= len(doomed)
                    continue
                outcomes: dict[int, bool | None] = {}  # True: works; False: too old
                began = time.monotonic()
                ran = self._validate(prepared) if prepared else []
                at = {m.to_version: i for i, m in runnable}
                where = [at.get(m.to_version, -1) for m, _ in ran]  # before completions
                tried = self._complete(ran)
                slowest = max(slowest, time.monotonic() - began)
                probes += len(tried)
                if not tried:
                    break  # budget or time limit: nothing ran
                # oldest first, so that of equally far-getting probes the newest is kept
                for i, (m, v) in sorted(zip(where, tried, strict=True), key=lambda t: -t[0]):
                    works = better(before, v.failure)
                    outcome.steps.append(step(m, v, kept=works))
                    after = v.failure
                    if works:
                        outcomes[i] = True
                        if best is None or after.progress() >= best[1].failure.progress():
                            best = (m, v)  # newest among the furthest-getting probes
                    elif after.kind is Kind.INSTALL or (after.line == before.line
                                                        and not before.same_as(after)
                                                        and not after.says_gone):
                        # too old: it no longer installs, or breaks another way at the same
                        # line (flask.ext before Flask 0.8; mongoengine against today's
                        # pymongo). Missing another API at another line (tf.select) still
                        # means "older", and so does a stub saying the API moved away.
                        outcomes[i] = False
                    else:
                        outcomes[i] = None  # fails the same way: the answer is older
                lo, hi = _narrow(lo, hi, outcomes)
            if best is not None or hi < len(part) or self.trials.exhausted():
                break  # the answer, if any, lies among these versions
        return best

    def _cut_short(self, marker: Move, part: list[str], lo: int, hi: int, probes: int,
                   spent: float, limit: float, left: float) -> None:
        """Say that a bisection stopped at its time budget, and what it left untried."""
        untried = part[lo + 1:hi]
        span = f"{untried[0]} .. {untried[-1]}" if len(untried) > 1 else untried[0]
        text = (f"the bisection of {marker.package} stopped at its time budget "
                f"({spent:.0f}s spent of {limit:.0f}s, {self.bisect_share:.0%} of the "
                f"{left:.0f}s left) after {probes} probe(s); {len(untried)} release(s) not "
                f"tried: {span}")
        self.cut.append(text)
        self.reporter(Note(text))

    def _stuck(self, failure: Failure, exhausted: bool = False) -> str:
        known = self.domain.stuck(failure)
        if known is not None:
            return known
        if self.cut:
            # not "nothing works": the search ran out of time before it knew
            return f"time budget exhausted: {self.cut[-1]}; best environment still fails: " \
                   f"{failure.describe()}"
        if exhausted or self.trials.exhausted():
            return f"gave up after {self.trials.validations} validation(s) (budget or time " \
                   f"limit); best environment still fails: {failure.describe()}"
        return f"no further move fixes: {failure.describe()}"


def _narrow(lo: int, hi: int, outcomes: dict[int, bool | None]) -> tuple[int, int]:
    """The interval left after probes at the indices of ``outcomes`` (newest first):
    the answer is older than the newest probe failing the same way before the first probe
    that works or is too old, and no older than that probe."""
    stop = min((i for i, o in outcomes.items() if o is not None and lo < i < hi), default=hi)
    same = [i for i, o in outcomes.items() if o is None and lo < i < stop]
    return (max(same) if same else lo), stop
