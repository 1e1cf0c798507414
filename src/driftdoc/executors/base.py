"""The one interface every executor offers the Session: run a batch, yield as finished."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from driftdoc.model import Instance, Outcome


class Executor(Protocol):
    """Runs instances and reports outcomes; never raises for a failing run.

    A run that crashes, hangs or loses its worker comes back as a failed
    ``Outcome`` whose ``category`` says why ("crash", "timeout", "worker-lost").
    """

    name: str

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Outcome]]:
        """Run every instance once, yielding each result as soon as it is known."""
        ...

    def close(self) -> None:
        """Release workers, sockets and clusters."""
        ...
