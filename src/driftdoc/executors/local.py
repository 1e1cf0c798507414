"""Run instances on this machine with N parallel workers (threads, or processes on request).

Threads suit pipelines: each ``PipelineRunner`` call already runs user code in its own
(sandboxed) subprocess, so a crash or hang there cannot take driftdoc down. Python
callables that might crash the interpreter or hang can use ``processes=True``: a run that
exceeds ``timeout`` is killed with its pool (a "timeout" verdict: the run's own limit); a
worker process that dies is retried alone, and one that keeps dying is a ``RunError``
("worker-lost"), never a verdict. The pool is rebuilt after either.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import time
import traceback
from collections.abc import Iterator, Sequence
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from driftdoc.errors import InputError
from driftdoc.executors.base import Result, RunError, Runner
from driftdoc.model import Instance, Outcome, Value


def call_runner(runner: Runner, items: tuple[tuple[str, Value], ...]) -> Result:
    """Run one instance; rebuilt here so its hash is this process's. Never raises.

    A runner that raises is a crash of the configuration (the seed's worker scores a
    crash as a failure); a runner that reports a ``RunError`` passes it on.
    """
    inst = Instance(items)
    start = time.perf_counter()
    try:
        result = runner(inst)
    except Exception as exc:
        return Outcome(False, "crash", f"{type(exc).__name__}: {exc}",
                       time.perf_counter() - start,
                       {"params": dict(inst), "traceback": traceback.format_exc()[-4000:]})
    if isinstance(result, Outcome | RunError):
        return result
    return Outcome.of(bool(result))


# A new process pool is ready when every worker has started and imported the runner's module;
# on a loaded machine that takes seconds, which must not count against the first runs.
STARTUP_LIMIT = 120.0
_pool_barrier: Any = None  # in a worker process: where all workers of its pool meet once


def _join_pool(barrier: Any) -> None:
    global _pool_barrier
    _pool_barrier = barrier


def _ready(runner: Runner) -> int:
    """Run once by each worker of a new pool (``runner`` is unpickled, so its module is
    imported); returns only when all workers are up."""
    del runner
    _pool_barrier.wait(STARTUP_LIMIT)
    return os.getpid()


def _details(inst: Instance, **extra: Any) -> dict[str, Any]:
    return {"params": dict(inst), "executor": "local", **extra}


class LocalExecutor:
    """A pool of ``workers`` threads (default) or processes; yields results as they finish."""

    name = "local"

    def __init__(self, runner: Runner, workers: int = 1, *, processes: bool = False,
                 timeout: float | None = None, retries: int = 2) -> None:
        if workers < 1:
            raise InputError("--workers must be 1 or more")
        self.runner = runner
        self.workers = workers
        self.processes = processes
        self.timeout = timeout
        self.retries = retries
        self._pool: ThreadPoolExecutor | ProcessPoolExecutor | None = None

    def _get_pool(self) -> ThreadPoolExecutor | ProcessPoolExecutor:
        if self._pool is None:
            if self.processes:
                ctx = multiprocessing.get_context("spawn")
                pool = ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_join_pool,
                                           initargs=(ctx.Barrier(self.workers),))
                # A run's clock starts when it is submitted: start the workers first, so the
                # timeout measures the run, not a spawn on a busy machine. A pool that fails
                # to start shows up (and is handled) at the first real submit.
                wait([pool.submit(_ready, self.runner) for _ in range(self.workers)],
                     timeout=STARTUP_LIMIT)
                self._pool = pool
            else:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="driftdoc-run")
        return self._pool

    def run(self, instances: Sequence[Instance]) -> Iterator[tuple[Instance, Result]]:
        if not instances:
            return
        if self.workers == 1 and not self.processes:
            for inst in instances:  # no pool: the cheapest path
                yield inst, call_runner(self.runner, tuple(inst.items()))
            return
        if self.processes:
            yield from self._run_processes(list(instances))
            return
        pool = self._get_pool()
        futures = {pool.submit(call_runner, self.runner, tuple(i.items())): i for i in instances}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                yield futures[fut], fut.result()

    def _run_processes(self, todo: list[Instance]) -> Iterator[tuple[Instance, Result]]:
        attempts: dict[Instance, int] = {}
        queue = list(todo)
        # Runs in flight when a worker died: any of them may be the culprit, so each is
        # re-run alone; only a run that breaks the pool on its own is charged an attempt.
        suspects: set[Instance] = set()
        while queue:
            pool = self._get_pool()
            futures: dict[Future[Result], Instance] = {}
            started: dict[Future[Result], float] = {}
            broken = timed_out = False
            while (queue or futures) and not broken:
                while queue and len(futures) < self.workers:
                    if queue[0] in suspects and futures:
                        break  # a suspect runs alone
                    if any(i in suspects for i in futures.values()):
                        break
                    inst = queue.pop(0)
                    try:
                        fut = pool.submit(call_runner, self.runner, tuple(inst.items()))
                    except BrokenProcessPool:
                        queue.insert(0, inst)
                        broken = True
                        break
                    futures[fut] = inst
                    started[fut] = time.monotonic()
                if broken or not futures:
                    break
                wait_for = None
                if self.timeout is not None:
                    oldest = min(started.values())
                    wait_for = max(0.0, oldest + self.timeout - time.monotonic())
                done, _ = wait(list(futures), timeout=wait_for, return_when=FIRST_COMPLETED)
                for fut in done:
                    outcome: Result
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        broken = True  # which run killed it is unknown: retry all in flight
                        continue
                    except Exception as exc:  # e.g. a result that does not pickle
                        outcome = RunError("worker-error", f"{type(exc).__name__}: {exc}",
                                           details=_details(futures[fut]))
                    inst = futures.pop(fut)
                    started.pop(fut)
                    yield inst, outcome
                if not done and self.timeout is not None:
                    now = time.monotonic()
                    for fut in [f for f in futures if now - started[f] >= self.timeout]:
                        inst = futures.pop(fut)
                        started.pop(fut)
                        yield inst, Outcome(False, "timeout",
                                            f"no result within {self.timeout:g}s; killed",
                                            self.timeout, _details(inst))
                    broken = True  # the stuck process must go: rebuild the pool
                    timed_out = True
            if broken:
                self._kill_pool()
                retry = []
                if timed_out or len(futures) > 1:
                    if not timed_out:  # we killed the pool ourselves: nobody is to blame
                        suspects.update(futures.values())
                    queue = list(futures.values()) + queue
                    continue
                for inst in futures.values():
                    attempts[inst] = attempts.get(inst, 0) + 1
                    if attempts[inst] > self.retries:
                        yield inst, RunError("worker-lost",
                                             "the worker process died during the run",
                                             attempts[inst], _details(inst))
                    else:
                        retry.append(inst)
                queue = retry + queue

    def _kill_pool(self) -> None:
        pool, self._pool = self._pool, None
        if isinstance(pool, ProcessPoolExecutor):
            procs = list(getattr(pool, "_processes", {}).values())
            for proc in procs:
                with contextlib.suppress(ProcessLookupError, TypeError):
                    os.kill(proc.pid, signal.SIGKILL)
            pool.shutdown(wait=True, cancel_futures=True)
        elif pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if isinstance(self._pool, ProcessPoolExecutor):
            self._kill_pool()
        elif self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
