"""Events: how long-running library code reports progress without printing.

Every module that does long work takes a ``Reporter`` (any callable accepting an
``Event``) and calls it; the CLI renders events with rich, tests collect them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Event:
    """Base event; ``describe`` gives a one-line human summary for renderers."""

    def describe(self) -> str:
        return type(self).__name__


Reporter = Callable[[Event], None]


def null_reporter(event: Event) -> None:
    """Discard events: the default, so the library stays silent."""


@dataclass(frozen=True)
class Note(Event):
    """A free-form status line ("trying numpy 1.16 because ...")."""

    text: str
    level: str = "info"
    data: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        return self.text


class EventLog:
    """A reporter that keeps every event; handy for tests and for fan-out."""

    def __init__(self, forward: Reporter | None = None) -> None:
        self.events: list[Event] = []
        self._forward = forward

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if self._forward is not None:
            self._forward(event)

    def of_type(self, kind: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kind)]
