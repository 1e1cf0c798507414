"""What an algorithm may ask of the Session: outcomes of instances, in batches.

Algorithms never run anything themselves; keeping them behind this protocol is
what lets memoisation, budgets and parallel executors live in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from driftdoc.model import Conjunction, Instance, Outcome, Space

Mode = Literal["one", "all"]


class Evaluator(Protocol):
    """The Session as seen by an algorithm."""

    @property
    def space(self) -> Space: ...

    def evaluate(self, instances: Sequence[Instance]) -> list[Outcome | None]:
        """Outcomes in the same order; ``None`` where the budget did not allow a run.

        Known instances (history or earlier in this search) are answered for free,
        duplicates in one batch run once, and batches run in parallel when the
        executor can.
        """
        ...

    def known(self) -> Mapping[Instance, Outcome]:
        """Every outcome known so far for this space, history included."""
        ...

    @property
    def remaining(self) -> int | None:
        """New runs still allowed (None: unlimited)."""
        ...


@dataclass
class SearchResult:
    """What an algorithm hands back before the final minimisation."""

    causes: list[Conjunction]
    status: str = "found"  # found | all-succeed | all-fail | no-failure-found | budget-exhausted
    message: str = ""
    notes: list[str] = field(default_factory=list)
    # what the claim "nothing else fails" rests on: instances drawn uniformly at random,
    # and covering designs ("each-value", "pairwise", "three-way", "exhaustive") that
    # completed without a failure before any was found
    uniform: frozenset[Instance] = frozenset()
    designs: tuple[str, ...] = ()
