"""Local executor: parallel threads, isolated processes, crashes and hangs become Outcomes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from driftdoc.errors import InputError
from driftdoc.executors.base import RunError
from driftdoc.executors.factory import make_executor
from driftdoc.executors.local import LocalExecutor
from driftdoc.model import Instance, Outcome, Space

SPACE = Space.from_dict({"x": list(range(8))})


def sleepy(inst: Instance) -> Outcome:
    time.sleep(0.2)
    return Outcome(int(inst["x"]) % 2 == 0)


def nasty(inst: Instance) -> Outcome:
    x = int(inst["x"])
    if x == 3:
        os._exit(1)  # kills its worker process
    if x == 5:
        time.sleep(60)  # hangs
    if x == 6:
        raise RuntimeError("bug in the runner")
    return Outcome(True, details={"pid": os.getpid()})


def test_threads_run_in_parallel_and_yield_all() -> None:
    ex = LocalExecutor(sleepy, workers=4)
    try:
        start = time.monotonic()
        got = dict(ex.run(list(SPACE)))
        elapsed = time.monotonic() - start
    finally:
        ex.close()
    assert {i["x"]: isinstance(o, Outcome) and o.succeeded
            for i, o in got.items()} == {x: x % 2 == 0 for x in range(8)}
    assert elapsed < 1.2  # 8 x 0.2 s on 4 threads, not 1.6 s


def test_single_worker_is_inline() -> None:
    seen: list[str] = []

    def runner(inst: Instance) -> Outcome:
        seen.append(threading.current_thread().name)
        return Outcome(True)

    ex = LocalExecutor(runner, workers=1)
    assert all(isinstance(o, Outcome) and o.succeeded for _, o in ex.run(list(SPACE)))
    assert set(seen) == {threading.current_thread().name}


def test_processes_survive_crashes_and_hangs() -> None:
    ex = LocalExecutor(nasty, workers=2, processes=True, timeout=3, retries=1)
    try:
        got = {int(i["x"]): o for i, o in ex.run(list(SPACE))}
    finally:
        ex.close()
    assert set(got) == set(range(8))
    lost = got[3]  # a worker that keeps dying is the machinery's failure, never a verdict
    assert isinstance(lost, RunError) and lost.kind == "worker-lost" and lost.attempts == 2
    assert isinstance(got[5], Outcome) and got[5].category == "timeout"
    crash = got[6]
    assert isinstance(crash, Outcome) and crash.category == "crash"
    assert "bug in the runner" in crash.message
    for x in (0, 1, 2, 4, 7):
        out = got[x]
        assert isinstance(out, Outcome) and out.succeeded, (x, out)
        assert out.details["pid"] != os.getpid()


def test_factory_local_specs() -> None:
    ex = make_executor(None, sleepy, workers=3)
    assert isinstance(ex, LocalExecutor) and ex.workers == 3 and not ex.processes
    ex = make_executor("local?processes=1", sleepy, workers=1)
    assert isinstance(ex, LocalExecutor) and ex.processes
    for bad in ("local://x", "ftp", "zmq://a:b", "zmq://h:1:99999", "dask://nohost",
                "local?bogus=1"):
        with pytest.raises(InputError):
            make_executor(bad, sleepy)
    with pytest.raises(InputError):
        make_executor("local", sleepy, workers=0)


def test_runner_that_raises_in_thread_is_a_crash(tmp_path: Path) -> None:
    def boom(inst: Instance) -> Outcome:
        raise ValueError("nope")

    ex = LocalExecutor(boom, workers=2)
    outs = [o for _, o in ex.run(list(SPACE)[:2])]
    ex.close()
    assert all(isinstance(o, Outcome) and o.category == "crash" and "nope" in o.message
               for o in outs)
