"""The engine's one door to validation: a batch of attempts in, verdicts out.

Budget, the deadline and "never the same attempt twice in a search" live behind this
seam, so the engine only asks and the seam can later be the project's ``Session``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from driftdoc.env.validation.verdict import Attempt, Verdict

Evaluate = Callable[[Sequence[Attempt]], list[Verdict | None]]


class Trials:
    """Runs attempts through ``evaluate`` within a budget of validations and a deadline."""

    def __init__(self, evaluate: Evaluate, *, budget: int, deadline: float | None) -> None:
        self.evaluate = evaluate
        self.budget = budget
        self.deadline = deadline
        self.validations = 0
        self._seen: set[Attempt] = set()

    def time_left(self) -> bool:
        return self.deadline is None or time.monotonic() < self.deadline

    def exhausted(self) -> bool:
        return self.validations >= self.budget or not self.time_left()

    def run(self, attempts: Sequence[Attempt],
            starting: Callable[[list[int]], None] | None = None) -> list[Verdict | None]:
        """A verdict per attempt, in order; None for one not run (tried before in this
        search, past the budget, or past the deadline). ``starting`` hears which of them
        are about to run."""
        fresh: list[int] = []
        for i, attempt in enumerate(attempts):
            if attempt not in self._seen:
                self._seen.add(attempt)
                fresh.append(i)
        fresh = fresh[: max(0, self.budget - self.validations)]
        out: list[Verdict | None] = [None] * len(attempts)
        if not fresh or not self.time_left():
            return out
        if starting is not None:
            starting(fresh)
        verdicts = self.evaluate([attempts[i] for i in fresh])
        for i, verdict in zip(fresh, verdicts, strict=True):
            if verdict is not None:
                self.validations += 1
                out[i] = verdict
        return out
