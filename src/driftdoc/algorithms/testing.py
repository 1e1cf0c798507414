"""A small in-memory Evaluator for tests and benchmarks.

It behaves like the Session as the algorithms see it (memoised, budgeted,
seedable with a history) and records every request, so tests can assert that
no instance is run twice and that no run happens past the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from driftdoc.model import Instance, Outcome, Space

Oracle = Callable[[Instance], bool | Outcome]


class MemoryEvaluator:
    """Wraps an oracle; answers known instances for free and counts new runs."""

    def __init__(
        self,
        space: Space,
        oracle: Oracle,
        budget: int | None = None,
        history: Mapping[Instance, bool | Outcome] | None = None,
        memoise: bool = True,
    ) -> None:
        self._space = space
        self._oracle = oracle
        self.budget = budget
        self.memoise = memoise
        self._known: dict[Instance, Outcome] = {}
        for inst, verdict in (history or {}).items():
            self._known[inst] = Outcome.of(verdict)
        self.runs = 0
        self.executed: list[Instance] = []  # every new run, in order
        self.batches: list[int] = []  # size of every evaluate() call
        self.refused = 0  # instances answered None because of the budget

    @property
    def space(self) -> Space:
        return self._space

    @property
    def remaining(self) -> int | None:
        if self.budget is None:
            return None
        return max(self.budget - self.runs, 0)

    def known(self) -> Mapping[Instance, Outcome]:
        return dict(self._known)

    def evaluate(self, instances: Sequence[Instance]) -> list[Outcome | None]:
        self.batches.append(len(instances))
        answers: dict[Instance, Outcome | None] = {}
        for inst in instances:
            if inst in answers:
                continue
            if self.memoise and inst in self._known:
                answers[inst] = self._known[inst]
                continue
            if self.budget is not None and self.runs >= self.budget:
                answers[inst] = None
                self.refused += 1
                continue
            outcome = Outcome.of(self._oracle(inst))
            self.runs += 1
            self.executed.append(inst)
            self._known[inst] = outcome
            answers[inst] = outcome
        return [answers[i] for i in instances]
