"""Run instances on a Dask cluster: an existing scheduler or a LocalCluster started here.

The runner (a ``PipelineRunner`` or any picklable ``Instance -> Outcome``) travels with
each task, never as scattered data: scattered data lives on the workers that hold it, and a
worker killed without a nanny would take it along, failing every task that needs it. A
worker that dies takes its tasks to another worker (Dask reschedules them; ``retries``
covers the rest). A task that still fails, is cancelled, or has no result within
``timeout`` seconds is a ``RunError``, never a verdict. While work waits and the cluster
has no worker, a note says so after ``note_after`` seconds, and after ``wait`` seconds
(None: forever) the executor gives up with ``InfrastructureError``, as the ZeroMQ one does.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

from driftdoc.errors import DriftdocError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.executors.base import InfrastructureError, Result, RunError, Runner
from driftdoc.executors.local import call_runner
from driftdoc.model import Instance


class DaskExecutor:
    """Submit each instance as a task; ``address=None`` starts a LocalCluster."""

    name = "dask"

    def __init__(self, runner: Runner, *, address: str | None = None,
                 workers: int = 1, processes: bool = False, timeout: float | None = None,
                 retries: int = 1, wait: float | None = 300.0, note_after: float = 3.0,
                 reporter: Reporter = null_reporter) -> None:
        try:
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise DriftdocError(
                "the Dask executor needs dask.distributed: pip install 'driftdoc[dask]'"
            ) from None
        self.runner = runner
        self.timeout = timeout
        self.retries = retries
        self.wait = wait
        self.note_after = note_after
        self.reporter = reporter
        self.address = address
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
        self._as_completed: Any = distributed.as_completed

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Result]]:
        if not instances:
            return
        futures = {}
        started = time.monotonic()
        for inst in instances:
            fut = self._client.submit(call_runner, self.runner, tuple(inst.items()),
                                      pure=False, retries=self.retries)
            futures[fut.key] = (fut, inst)
        pending = {k for k in futures}
        ac = self._as_completed([f for f, _ in futures.values()], with_results=False)
        idle_since: float | None = None
        noted = False
        while pending:
            remaining = 1.0
            if self.timeout is not None:
                remaining = max(0.0, started + self.timeout * len(instances) - time.monotonic())
            try:
                batch = _next(ac, min(remaining, 1.0))
            except TimeoutError:
                if remaining > 1.0 or self.timeout is None:
                    if self._client.nthreads():  # someone is working: keep waiting
                        idle_since, noted = None, False
                        continue
                    now = time.monotonic()
                    idle_since = idle_since or now
                    if now - idle_since >= self.note_after and not noted:
                        noted = True
                        self.reporter(Note(f"no Dask worker in the cluster at {self.address} "
                                           f"after {now - idle_since:.0f} s; waiting",
                                           level="warning"))
                    if self.wait is not None and now - idle_since >= self.wait:
                        for key in pending:
                            futures[key][0].cancel()
                        raise InfrastructureError(
                            f"no Dask worker joined the cluster at {self.address} within "
                            f"{self.wait:g} s; start workers or raise ?wait=SECONDS") from None
                    continue
                for key in list(pending):
                    fut, inst = futures[key]
                    fut.cancel()
                    pending.discard(key)
                    yield inst, RunError("dispatch-timeout",
                                         "no result from the Dask cluster in time",
                                         details={"params": dict(inst), "executor": "dask"})
                return
            for fut in batch:
                pending.discard(fut.key)
                inst = futures[fut.key][1]
                yield inst, _result(fut, inst)

    def close(self) -> None:
        client = getattr(self, "_client", None)
        if client is not None:
            client.close()
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None


def _result(fut: Any, inst: Instance) -> Result:
    """A finished future's result; any exception is the cluster's, not the run's.

    ``call_runner`` never raises, so an exception here is a lost worker (``KilledWorker``,
    a closed connection) or a cancelled future.
    """
    try:
        return fut.result()  # type: ignore[no-any-return]
    except Exception as exc:
        name = type(exc).__name__
        kind = "cancelled" if "Cancelled" in name else "worker-lost"
        return RunError(kind, f"{name}: {exc}",
                        details={"params": dict(inst), "executor": "dask"})


def _next(ac: Any, timeout: float) -> list[Any]:
    """Wait up to ``timeout`` for the next finished futures."""
    deadline = time.monotonic() + timeout
    while True:
        if ac.has_ready():
            return list(ac.next_batch(block=False))
        if time.monotonic() >= deadline:
            raise TimeoutError
        time.sleep(0.01)
