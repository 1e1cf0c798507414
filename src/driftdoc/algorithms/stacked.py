"""Stacked Shortcut (BugDoc): Shortcut against several successes, causes stacked."""

from __future__ import annotations

from driftdoc.algorithms.protocol import Evaluator, SearchResult
from driftdoc.algorithms.shortcut import _search
from driftdoc.events import Reporter, null_reporter


def stacked(
    evaluator: Evaluator,
    mode: str = "all",
    reporter: Reporter = null_reporter,
    *,
    seed: int = 0,
    stack: int = 3,
) -> SearchResult:
    """Run Shortcut from each failure against ``stack`` successes; keep unrefuted causes."""
    return _search(evaluator, mode, reporter, seed, stack=stack)
