"""The engine's one door to validation: a batch of attempts in, verdicts out.

Behind it is the project's ``Session`` (the debugging half's core) over an open space:
each attempt is its canonical instance, known ones are answered from the store, the rest
run through the session's executor (local threads, ZeroMQ, Dask), each recorded as one
run of the snippet's experiment, and the budget is the session's. This seam adds only
what belongs to the search: the deadline, and that a search asks for an attempt once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from driftdoc.env.validation.task import attempt_instance, outcome_verdict, verdict_outcome
from driftdoc.env.validation.verdict import Attempt, Verdict
from driftdoc.events import Event, Reporter, null_reporter
from driftdoc.executors.base import Result, RunError
from driftdoc.model import Instance
from driftdoc.session import Session

Evaluate = Callable[[Sequence[Attempt]], list[Verdict | None]]

START_MARGIN = 5.0
"""No validation is started with less time than this left before the deadline: it could
only be cut short, and an install cut by the time limit is recorded as a failure of the
release it was installing (pandas 0.19.2 "failed" on 2.7 with one second left)."""


@dataclass(frozen=True)
class ValidationFinished(Event):
    """A validation ran (or was answered from the store)."""

    attempt: Attempt
    verdict: Verdict
    cached: bool

    def describe(self) -> str:
        reqs = " ".join(self.attempt.requirements) or "(no packages)"
        src = "known" if self.cached else f"{self.verdict.seconds:.1f}s"
        return f"python {self.attempt.python} {reqs}: {self.verdict.kind.value} [{src}]"


class AttemptExecutor:
    """An executor over an in-process batch validator (a fake world, a test double)."""

    name = "in-process"

    def __init__(self, evaluate: Evaluate) -> None:
        self.evaluate = evaluate

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Result]]:
        verdicts = self.evaluate([Attempt.from_key(i) for i in instances])
        for inst, verdict in zip(instances, verdicts, strict=True):
            yield inst, verdict_outcome(verdict) if verdict is not None else RunError(
                "worker-error", "the validator gave no verdict", details={"params": dict(inst)})

    def close(self) -> None:
        return None


class Trials:
    """Runs attempts through ``session`` before ``deadline`` (``time.monotonic()``)."""

    def __init__(self, session: Session, *, deadline: float | None = None,
                 reporter: Reporter = null_reporter, margin: float = START_MARGIN) -> None:
        self.session = session
        self.deadline = deadline
        self.margin = margin
        self.reporter = reporter
        self.validations = 0  # attempts answered for this search (run or known)
        self._asked: set[Instance] = set()

    @classmethod
    def of(cls, evaluate: Evaluate, *, budget: int, deadline: float | None = None,
           reporter: Reporter = null_reporter) -> Trials:
        """Trials over an in-process validator, through a session in memory."""
        return cls(Session(None, AttemptExecutor(evaluate), budget=budget, reporter=reporter),
                   deadline=deadline, reporter=reporter, margin=0.0)  # no builds to cut

    @property
    def budget(self) -> int | None:
        return self.session.budget

    def time_left(self) -> bool:
        """Whether there is time to start a validation (``margin`` before the deadline)."""
        return self.deadline is None or time.monotonic() < self.deadline - self.margin

    def seconds_left(self) -> float | None:
        """Seconds until the deadline (None: no deadline)."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def exhausted(self) -> bool:
        return self.session.remaining == 0 or not self.time_left()

    def run(self, attempts: Sequence[Attempt],
            starting: Callable[[list[int]], None] | None = None) -> list[Verdict | None]:
        """A verdict per attempt, in order; None for one not run (asked before in this
        search, past the budget, or past the deadline). ``starting`` hears which of them
        are about to run."""
        insts = [attempt_instance(a) for a in attempts]
        known = self.session.known()
        left = self.session.remaining
        fresh: list[int] = []
        for i, inst in enumerate(insts):
            if inst in self._asked:
                continue
            self._asked.add(inst)
            if inst in known:
                fresh.append(i)
            elif left is None or left > 0:
                fresh.append(i)
                left = None if left is None else left - 1
        out: list[Verdict | None] = [None] * len(attempts)
        if not fresh or not self.time_left():
            return out
        if starting is not None:
            starting(fresh)
        cached = {i for i in fresh if insts[i] in known}
        outcomes = self.session.evaluate([insts[i] for i in fresh])
        for i, outcome in zip(fresh, outcomes, strict=True):
            if outcome is None:
                continue
            verdict = outcome_verdict(outcome)
            self.validations += 1
            out[i] = verdict
            self.reporter(ValidationFinished(attempts[i], verdict, cached=i in cached))
        return out
