"""Per-run dispatch overhead and throughput of driftdoc's executors.

Run: python benchmarks/dispatch.py [--quick]

Measures, for a no-op in-process pipeline (``Instance -> Outcome(True)``):
the wall time per run of the local executor (inline, 2 threads, 2 processes), the ZeroMQ
dispatcher with in-process workers (``executors.zmq.serve`` on threads), and Dask on a
LocalCluster. Then a real sandboxed command (``true``) through ``PipelineRunner`` with and
without bubblewrap (and the sandbox start-up the runner records), and finally the
speed-up of 2 workers over 1 on a sleep-bound pipeline.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from driftdoc.executors.base import Executor
from driftdoc.executors.dask import DaskExecutor
from driftdoc.executors.local import LocalExecutor
from driftdoc.executors.zmq import ZmqExecutor, serve
from driftdoc.model import Instance, Outcome, Space
from driftdoc.pipeline.runner import PipelineRunner
from driftdoc.pipeline.spec import load_spec


def noop(inst: Instance) -> Outcome:
    return Outcome(True)


def sleepy(inst: Instance) -> Outcome:
    time.sleep(0.1)
    return Outcome(True)


def space_of(n: int) -> list[Instance]:
    return list(Space.from_dict({"i": list(range(n))}))


def per_run(ex: Executor, n: int) -> tuple[float, float]:
    """(seconds per run, runs per second) for a batch of n."""
    todo = space_of(n)
    list(ex.run(todo[: min(5, n)]))  # warm up pools / connections
    start = time.perf_counter()
    got = sum(1 for _ in ex.run(todo))
    elapsed = time.perf_counter() - start
    assert got == n
    return elapsed / n, n / elapsed


def zmq_with_workers(runner: Callable[[Instance], Outcome], k: int
                     ) -> tuple[ZmqExecutor, list[threading.Thread]]:
    ex = ZmqExecutor(filename="bench", host="127.0.0.1", push_port=0, pull_port=0, timeout=60)
    threads = []
    for _ in range(k):
        t = threading.Thread(target=serve, args=(runner, None), kwargs=dict(
            connect="127.0.0.1", pull_port=ex.push_port, push_port=ex.pull_port,
            idle_timeout=1.0), daemon=True)
        t.start()
        threads.append(t)
    time.sleep(0.3)
    return ex, threads


def sandbox_rows(n: int) -> list[tuple[str, float, float | None]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        spec_path = Path(tmp) / "driftdoc.toml"
        for mode in ("none", "bwrap"):
            spec_path.write_text(f'[parameters]\ni = {list(range(n))}\n[pipeline]\n'
                                 f'command = "true {{i}}"\nsandbox = "{mode}"\n')
            spec = load_spec(spec_path)
            runner = PipelineRunner(spec)
            runner(spec.space.instance({"i": 0}))
            times, startups = [], []
            for inst in spec.space:
                t0 = time.perf_counter()
                out = runner(inst)
                times.append(time.perf_counter() - t0)
                startups.append(out.details["sandbox"]["startup"] or 0.0)
            rows.append((f"PipelineRunner `true`, sandbox={mode}", statistics.median(times),
                         statistics.median(startups)))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    args = ap.parse_args()
    q = 4 if args.quick else 1
    rows: list[tuple[str, float, float]] = []

    ex: Executor = LocalExecutor(noop, 1)
    rows.append(("local, inline (workers=1)", *per_run(ex, 20000 // q)))
    ex = LocalExecutor(noop, 2)
    rows.append(("local, 2 threads", *per_run(ex, 5000 // q)))
    ex.close()
    ex = LocalExecutor(noop, 2, processes=True)
    rows.append(("local, 2 processes", *per_run(ex, 1000 // q)))
    ex.close()
    zex, _ = zmq_with_workers(noop, 1)
    rows.append(("zmq, 1 worker (loopback)", *per_run(zex, 2000 // q)))
    zex.close()
    zex, _ = zmq_with_workers(noop, 2)
    rows.append(("zmq, 2 workers (loopback)", *per_run(zex, 2000 // q)))
    zex.close()
    dex = DaskExecutor(noop, workers=2)
    rows.append(("dask LocalCluster, 2 workers", *per_run(dex, 1000 // q)))
    dex.close()

    print("No-op pipeline: dispatch overhead per run")
    print(f"{'executor':34} {'per run':>12} {'runs/s':>10}")
    for name, sec, rate in rows:
        print(f"{name:34} {sec * 1000:9.3f} ms {rate:10.0f}")

    print("\nSandboxed command (median per run, includes snapshot + provenance)")
    print(f"{'run':42} {'per run':>10} {'sandbox start-up':>18}")
    for name, sec, startup in sandbox_rows(30 // q if q > 1 else 30):
        print(f"{name:42} {sec * 1000:7.1f} ms {(startup or 0) * 1000:15.1f} ms")

    print("\nSleep-bound pipeline (0.1 s per run, 12 runs): speed-up of 2 workers over 1")
    print(f"{'executor':20} {'1 worker':>10} {'2 workers':>10} {'speed-up':>9}")
    todo = space_of(12)
    for label in ("local", "zmq", "dask"):
        times = []
        for k in (1, 2):
            if label == "local":
                e: Executor = LocalExecutor(sleepy, k)
            elif label == "zmq":
                e, _ = zmq_with_workers(sleepy, k)
            else:
                e = DaskExecutor(sleepy, workers=k)
            list(e.run(todo[:1]))
            t0 = time.perf_counter()
            list(e.run(todo))
            times.append(time.perf_counter() - t0)
            e.close()
        print(f"{label:20} {times[0]:8.2f} s {times[1]:8.2f} s {times[0] / times[1]:8.2f}x")


if __name__ == "__main__":
    main()
