"""The algorithms' view of the Evaluator: a local verdict cache and budget guard.

Every algorithm goes through one ``Prober`` so that an instance is requested at
most once (even from an Evaluator that answers inconsistently: the first answer
wins), batches never exceed the remaining budget, and a search can stop cleanly
with a partial answer when the budget runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from driftdoc.algorithms.protocol import Evaluator, SearchResult
from driftdoc.errors import DriftdocError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.model import Conjunction, Instance


class Exhausted(Exception):
    """The budget ran out before an answer the search needed."""


class Verdict(Enum):
    """Tri-state answer: a new failure, a success, or explained by a cause found already."""

    FAIL = "fail"
    PASS = "pass"
    EXPLAINED = "explained"


class Prober:
    """Memoised, budget-aware access to an Evaluator (True in the cache = failed)."""

    def __init__(self, evaluator: Evaluator, reporter: Reporter = null_reporter) -> None:
        self.evaluator = evaluator
        self.space = evaluator.space
        self.reporter = reporter
        self.cache: dict[Instance, bool] = {}
        for inst, outcome in evaluator.known().items():
            canon = self._canonical(inst)
            if canon is not None:
                self.cache[canon] = not outcome.succeeded
        self.history = len(self.cache)
        self.requested: set[Instance] = set()
        self.causes: list[Conjunction] = []  # causes accepted so far (explain failures)
        self.trusted: set[Instance] = set()  # runs built on a success's context
        # drawn uniformly at random (from the space, or from outside the causes known
        # then): what the answer's "seen with 95 % probability" claim rests on
        self.uniform: set[Instance] = set()
        self.designs: list[str] = []  # covering designs completed without a failure

    def _canonical(self, inst: Instance) -> Instance | None:
        """``inst`` as an instance of this space, or None (history from another space)."""
        if set(inst) != set(self.space.names):
            return None
        try:
            return self.space.instance(inst)
        except DriftdocError:
            return None

    # -- raw verdicts ---------------------------------------------------------
    @property
    def remaining(self) -> int | None:
        return self.evaluator.remaining

    @property
    def exhausted(self) -> bool:
        rem = self.evaluator.remaining
        return rem is not None and rem <= 0

    def ask(self, instances: Sequence[Instance]) -> list[bool | None]:
        """Failure verdicts in order; ``None`` where the budget did not allow a run."""
        todo: list[Instance] = []
        seen: set[Instance] = set()
        for inst in instances:
            if inst not in self.cache and inst not in seen and inst not in self.requested:
                todo.append(inst)
                seen.add(inst)
        if todo:
            rem = self.evaluator.remaining
            if rem is not None:
                todo = todo[: max(rem, 0)]
        if todo:
            self.requested.update(todo)
            outcomes = self.evaluator.evaluate(todo)
            for inst, outcome in zip(todo, outcomes, strict=False):
                if outcome is not None and inst not in self.cache:
                    self.cache[inst] = not outcome.succeeded
        return [self.cache.get(inst) for inst in instances]

    def must(self, instances: Sequence[Instance]) -> list[bool]:
        """Like ``ask`` but raises ``Exhausted`` when an answer is missing."""
        answers = self.ask(instances)
        out: list[bool] = []
        for a in answers:
            if a is None:
                raise Exhausted
            out.append(a)
        return out

    # -- verdicts relative to the causes found so far ---------------------------
    def explained(self, inst: Instance) -> bool:
        return any(c.holds(inst) for c in self.causes)

    def judge(self, instances: Sequence[Instance]) -> list[Verdict]:
        """New failure / success / explained; explained instances are not run."""
        todo = [i for i in instances if not self.explained(i)]
        answers = dict(zip(todo, self.must(todo), strict=True))
        out: list[Verdict] = []
        for inst in instances:
            if inst not in answers:
                out.append(Verdict.EXPLAINED)
            else:
                out.append(Verdict.FAIL if answers[inst] else Verdict.PASS)
        return out

    # -- what is known -----------------------------------------------------------
    def failing(self) -> list[Instance]:
        return [i for i, f in self.cache.items() if f]

    def passing(self) -> list[Instance]:
        return [i for i, f in self.cache.items() if not f]

    def unexplained(self) -> list[Instance]:
        return [i for i, f in self.cache.items() if f and not self.explained(i)]

    def stop_message(self, what: str) -> str:
        """Why the search stopped early, for SearchResult.message."""
        if self.exhausted:
            return f"the budget ran out; {what}"
        return f"the evaluator gave no verdict for some runs; {what}"

    def result(self, causes: Sequence[Conjunction], status: str = "found", message: str = "",
               notes: Sequence[str] = ()) -> SearchResult:
        """A SearchResult carrying what the search covered (uniform draws, designs)."""
        return SearchResult(list(causes), status, message, list(notes),
                            frozenset(self.uniform), tuple(self.designs))

    def note(self, text: str, **data: object) -> None:
        self.reporter(Note(text, data=dict(data)))
