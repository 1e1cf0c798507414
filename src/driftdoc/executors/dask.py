"""Run instances on a Dask cluster: an existing scheduler or a LocalCluster started here.

The runner (a ``PipelineRunner`` or any picklable ``Instance -> Outcome``) is shipped to
the workers once per batch; results come back as they finish. A worker that dies takes
its tasks to another worker (Dask's own retry, ``retries``); a task that still fails, or
exceeds ``timeout``, becomes a failed Outcome instead of stopping the search.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from driftdoc.errors import DriftdocError
from driftdoc.executors.local import call_runner
from driftdoc.model import Instance, Outcome


class DaskExecutor:
    """Submit each instance as a task; ``address=None`` starts a LocalCluster."""

    name = "dask"

    def __init__(self, runner: Callable[[Instance], Outcome], *, address: str | None = None,
                 workers: int = 1, processes: bool = False, timeout: float | None = None,
                 retries: int = 1) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise DriftdocError(
                "the Dask executor needs dask.distributed: pip install 'driftdoc[dask]'"
            ) from None
        self.runner = runner
        self.timeout = timeout
        self.retries = retries
        self._cluster: Any = None
        try:
            if address is None:
                # in-process workers talk over inproc://; worker processes over loopback
                extra = {"host": "127.0.0.1"} if processes else {}
                self._cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=processes,
                    dashboard_address=None, **extra,
                )
                self._client = distributed.Client(self._cluster)
            else:
                target = address if "://" in address else f"tcp://{address}"
                self._client = distributed.Client(target, timeout=10)
        except OSError as exc:
            self.close()
            raise DriftdocError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self._runner_future: Any = None
        self._as_completed: Any = distributed.as_completed

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Outcome]]:
        if not instances:
            return
        if self._runner_future is None:
            self._runner_future = self._client.scatter(self.runner, broadcast=True)
        futures = {}
        started = time.monotonic()
        for inst in instances:
            fut = self._client.submit(call_runner, self._runner_future, tuple(inst.items()),
                                      pure=False, retries=self.retries)
            futures[fut.key] = (fut, inst)
        pending = {k for k in futures}
        ac = self._as_completed([f for f, _ in futures.values()], with_results=False)
        while pending:
            remaining = None
            if self.timeout is not None:
                remaining = max(0.0, started + self.timeout * len(instances) - time.monotonic())
            try:
                batch = ac.next_batch(block=True) if remaining is None else _next(ac, remaining)
            except TimeoutError:
                for key in list(pending):
                    fut, inst = futures[key]
                    fut.cancel()
                    pending.discard(key)
                    yield inst, Outcome(False, "timeout", "no result from the Dask cluster in time",
                                        0.0, {"params": dict(inst), "executor": "dask"})
                return
            for fut in batch:
                pending.discard(fut.key)
                inst = futures[fut.key][1]
                try:
                    outcome = fut.result()
                except Exception as exc:
                    outcome = Outcome(False, "worker-lost", f"{type(exc).__name__}: {exc}", 0.0,
                                      {"params": dict(inst), "executor": "dask"})
                yield inst, outcome

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _next(ac: Any, timeout: float) -> list[Any]:
    """Wait up to ``timeout`` for the next finished futures."""
    deadline = time.monotonic() + timeout
    while True:
        if ac.has_ready():
            return list(ac.next_batch(block=False))
        if time.monotonic() >= deadline:
            raise TimeoutError
        time.sleep(0.01)
