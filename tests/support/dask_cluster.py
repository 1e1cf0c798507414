"""A real Dask cluster on loopback: ``dask scheduler`` and ``dask worker`` processes.

Each worker is its own process (no nanny, so killing it loses it for good) in its own
session, with its own ``DRIFTDOC_CACHE_DIR``, started the way the README tells a user to.
Used by the cluster tests and by ``benchmarks/cluster.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

DASK = str(Path(sys.executable).parent / "dask")


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parents.items() if pp == p]
        out += kids
        todo += kids
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class DaskCluster:
    """``with DaskCluster(root, workers=2) as c: c.address``; ``c.kill(0)`` loses worker 0."""

    def __init__(self, root: Path, *, workers: int = 2, nthreads: int = 1,
                 env: dict[str, str] | None = None, cache: Path | None = None) -> None:
        self.root = root
        self.n = workers
        self.nthreads = nthreads
        self.env = env or {}
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        # each worker's own cache, or one cache they share (workers on one machine may)
        self.caches = [cache or root / f"worker{i}-cache" for i in range(workers)]
        self.address = ""

    def __enter__(self) -> DaskCluster:
        try:
            return self._start()
        except BaseException:
            self.__exit__(None, None, None)  # leave no scheduler or worker behind
            raise

    def _start(self) -> DaskCluster:
        self.root.mkdir(parents=True, exist_ok=True)
        info = self.root / "scheduler.json"
        log = (self.root / "scheduler.log").open("wb")
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(info)], stdout=log, stderr=log,
            start_new_session=True, env={**os.environ, **self.env})
        deadline = time.monotonic() + 60
        while not info.exists() or not info.read_text().strip():
            if time.monotonic() > deadline or self.scheduler.poll() is not None:
                raise RuntimeError("the Dask scheduler did not start")
            time.sleep(0.1)
        time.sleep(0.2)
        self.address = json.loads(info.read_text())["address"].removeprefix("tcp://")
        for i in range(self.n):
            self.start_worker(i)
        if self.n:
            self.wait_for(self.n)
        return self

    def start_worker(self, i: int) -> None:
        self.caches[i].mkdir(parents=True, exist_ok=True)
        log = (self.root / f"worker{i}.log").open("ab")
        proc = subprocess.Popen(
            [DASK, "worker", f"tcp://{self.address}", "--nthreads", str(self.nthreads),
             "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--name", f"w{i}"],
            stdout=log, stderr=log, start_new_session=True,
            env={**os.environ, **self.env, "DRIFTDOC_CACHE_DIR": str(self.caches[i])})
        if i < len(self.workers):
            self.workers[i] = proc
        else:
            self.workers.append(proc)

    def wait_for(self, n: int, timeout: float = 120.0) -> None:
        """Until the scheduler knows ``n`` workers."""
        from distributed import Client

        with Client(f"tcp://{self.address}", timeout=30) as client:
            client.wait_for_workers(n, timeout=timeout)

    def busy(self, i: int) -> bool:
        """Worker ``i`` is running a snippet (its ``driftdoc run`` child is alive)."""
        return any("driftdoc.cli run" in cmdline(c) for c in children(self.workers[i].pid))

    def kill(self, i: int) -> None:
        """Lose worker ``i`` at once, with every process it started."""
        proc = self.workers[i]
        doomed = [proc.pid, *children(proc.pid)]
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for i, proc in enumerate(self.workers):
            if proc.poll() is None:
                self.kill(i)
        if self.scheduler is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.scheduler.pid, signal.SIGKILL)
            self.scheduler.wait()
