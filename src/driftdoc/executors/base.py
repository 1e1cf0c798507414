"""The one interface every executor offers its callers: run a batch, yield as finished.

An executor yields, for each instance, either an ``Outcome`` (the configuration's own
verdict: it ran and succeeded or failed) or a ``RunError`` (the machinery failed: a worker
was lost, a future was cancelled, a dispatch timed out, a sandbox did not start). A
``RunError`` says nothing about the configuration, so no caller may store it as a verdict.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from driftdoc.errors import DriftdocError
from driftdoc.model import Instance, Outcome

ERROR_KINDS = ("worker-lost", "cancelled", "dispatch-timeout", "no-workers", "sandbox",
               "worker-error", "snapshot")
"""Why the machinery gave no verdict; ``RunError.kind`` is one of these."""


@dataclass(frozen=True)
class RunError:
    """An infrastructure failure for one instance: retried, recorded as an error, never a verdict.

    ``attempts`` counts how often the executor tried before giving up; ``details`` keeps
    what it knows (worker, dispatch history, the exception) for provenance.
    """

    kind: str
    message: str
    attempts: int = 1
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in ERROR_KINDS:
            raise ValueError(f"unknown run error kind {self.kind!r}")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "attempts": self.attempts,
                "details": self.details}

    @classmethod
    def from_json(cls, data: Any) -> RunError:
        """Rebuild from ``to_json``; ValueError if it is not one."""
        if not isinstance(data, dict) or data.get("kind") not in ERROR_KINDS:
            raise ValueError("a run error needs a known 'kind'")
        details = data.get("details") or {}
        return cls(str(data["kind"]), str(data.get("message", "")),
                   int(data.get("attempts") or 1),
                   details if isinstance(details, dict) else {"details": details})


Result = Outcome | RunError
"""What an executor yields per instance."""

Runner = Callable[[Instance], Outcome | RunError]
"""A picklable per-instance job (``PipelineRunner``, an oracle wrapper) that never raises."""


class InfrastructureError(DriftdocError):
    """The machinery could not produce verdicts (no workers, every retry lost): exit 1.

    Raised only after retries; everything recorded before it stays valid, so a rerun
    resumes from the store.
    """

    exit_code = 1


class Executor(Protocol):
    """Runs instances and reports results; never raises for a failing run.

    A run that crashes, hangs past its own limit or fails its evaluation is an
    ``Outcome`` (a verdict). A worker that is lost, a cancelled future, a dispatch
    time-out or a sandbox that cannot start is retried where possible and, if that does
    not help, yielded as a ``RunError``. An executor may raise ``InfrastructureError``
    when it cannot run anything at all (no worker connected within its wait limit).
    """

    name: str

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Result]]:
        """Run every instance once, yielding each result as soon as it is known."""
        ...

    def close(self) -> None:
        """Release workers, sockets and clusters."""
        ...
