"""Algorithm names -> search functions ``(evaluator, *, mode, reporter) -> SearchResult``."""

from __future__ import annotations

from typing import Protocol

from driftdoc.algorithms.ddt import ddt
from driftdoc.algorithms.protocol import Evaluator, SearchResult
from driftdoc.algorithms.shortcut import shortcut
from driftdoc.algorithms.stacked import stacked
from driftdoc.errors import InputError
from driftdoc.events import Reporter


class Algorithm(Protocol):
    def __call__(
        self, evaluator: Evaluator, mode: str = ..., reporter: Reporter = ...
    ) -> SearchResult: ...


ALGORITHMS: dict[str, Algorithm] = {"ddt": ddt, "shortcut": shortcut, "stacked": stacked}


def names() -> tuple[str, ...]:
    return tuple(ALGORITHMS)


def get(name: str) -> Algorithm:
    """The search function registered as ``name``; InputError for unknown names."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        known = ", ".join(ALGORITHMS)
        raise InputError(f"unknown algorithm {name!r}; use one of {known}") from None
