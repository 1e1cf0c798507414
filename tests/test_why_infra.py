"""Issue 13's failures of the machinery, reproduced with real worker processes and stores.

Each test is one case from the issue: lost workers (a ZeroMQ worker and a Dask worker
without a nanny killed with SIGKILL mid-search), a dispatcher with no worker connected,
and the seed's own worker script driven from a SPACE.json. Each must now give the right
answer or an honest non-zero exit, and no verdict in the store may come from an error.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftdoc.store import Store
from support.seed import (
    driftdoc_cli,
    free_ports,
    records,
    start_seed_worker,
    wait_until,
    write_seed,
)

SPACE = {"lr": [0.001, 0.01, 0.1, 0.5], "opt": ["sgd", "adam"], "batch": [16, 64, 256]}
CAUSE = ["lr >= 0.1 AND opt == adam"]
INFRA = ("worker-lost", "worker-error", "sandbox", "cancelled", "dispatch-timeout",
         "no-workers", "snapshot")


class Procs:
    """Worker processes started by a test, killed at its end whatever happens."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def add(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


@pytest.fixture()
def procs() -> Iterator[Procs]:
    p = Procs()
    yield p
    p.stop()


def assert_no_verdict_from_errors(store_path: Path) -> tuple[int, int]:
    """Every stored verdict is a real run's; return (verdicts, errors) in the store."""
    with Store(store_path) as store:
        runs = store.runs()
        errors = store.errors()
    bad = [r for r in runs if r.outcome.category in INFRA]
    assert not bad, f"verdicts made of machinery failures: {bad[:3]}"
    for rec in runs:  # each stored verdict agrees with the ground truth
        fails = float(rec.params["lr"]) >= 0.1 and rec.params["opt"] == "adam"
        assert rec.outcome.succeeded != fails, rec
    return len(runs), len(errors)


def test_zmq_without_workers_says_so_and_stops(tmp_path: Path) -> None:
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    push, pull = free_ports(2)
    start = time.monotonic()
    proc = driftdoc_cli("debug", "space.json", "--executor",
                        f"zmq://127.0.0.1:{push}:{pull}?wait=6", "--store", "s.db",
                        cwd=tmp_path)
    out, err = proc.communicate(timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == 1, (out, err)
    assert "no ZeroMQ worker connected after 3 s" in err
    assert f"no ZeroMQ worker connected within 6 s (requests on tcp://127.0.0.1:{push}" in err
    assert "Traceback" not in err and out == ""
    assert 6 <= elapsed < 30
    assert assert_no_verdict_from_errors(tmp_path / "s.db") == (0, 0)


def test_space_json_drives_the_seed_worker_script(tmp_path: Path, procs: Procs) -> None:
    env = write_seed(tmp_path / "seed")
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    push, pull = free_ports(2)
    procs.add(start_seed_worker(env, push, pull))
    proc = driftdoc_cli("debug", "space.json", "--executor", f"zmq://127.0.0.1:{push}:{pull}",
                        "--filename", "pipeline.vt", "--store", "s.db", "--format", "json",
                        cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert json.loads(out)["text"] == CAUSE
    seen = records(env)
    assert seen and {r["filename"] for r in seen} == {"pipeline.vt"}
    assert seen[0]["parameters"] == ["lr", "opt", "batch"]
    verdicts, errors = assert_no_verdict_from_errors(tmp_path / "s.db")
    assert verdicts == len(seen) and errors == 0


def stored_runs(store_path: Path) -> int:
    if not store_path.exists():
        return 0
    try:
        with sqlite3.connect(store_path, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_zmq_worker_killed_mid_search(tmp_path: Path, procs: Procs) -> None:
    env = write_seed(tmp_path / "seed")
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    push, pull = free_ports(2)
    doomed = procs.add(start_seed_worker(env, push, pull, RUN_SLEEP="0.15"))
    procs.add(start_seed_worker(env, push, pull, RUN_SLEEP="0.15"))
    proc = driftdoc_cli("debug", "space.json", "--executor", f"zmq://127.0.0.1:{push}:{pull}",
                        "--store", "s.db", "--format", "json", cwd=tmp_path)
    try:
        assert wait_until(lambda: len(records(env)) >= 4, 60)
        os.kill(doomed.pid, signal.SIGKILL)  # mid-run: its request is in flight
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert doomed.wait(5) == -signal.SIGKILL
    assert proc.returncode == 0, err
    assert json.loads(out)["text"] == CAUSE
    assert_no_verdict_from_errors(tmp_path / "s.db")


DASK_PIPELINE = """
import time

def run(cfg):
    time.sleep(0.3)
    return not (cfg["lr"] >= 0.1 and cfg["opt"] == "adam")
"""


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class DaskCluster:
    """A real ``dask scheduler`` and worker processes without a nanny."""

    def __init__(self, tmp_path: Path, procs: Procs) -> None:
        pytest.importorskip("distributed")
        self.dask = str(Path(sys.executable).parent / "dask")
        if not os.path.exists(self.dask):
            pytest.skip("the dask command is not installed")
        (port,) = free_ports(1)
        self.address = f"127.0.0.1:{port}"
        self.cwd = tmp_path
        self.procs = procs
        self.env = dict(os.environ, PYTHONPATH=str(tmp_path))  # workers hold the pipeline
        procs.add(subprocess.Popen(
            [self.dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard"], env=self.env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL))
        self.workers: list[subprocess.Popen[bytes]] = []
        assert wait_until(lambda: _listening(port), 60), "the scheduler did not start"

    def add_workers(self, n: int) -> None:
        for _ in range(n):
            self.workers.append(self.procs.add(subprocess.Popen(
                [self.dask, "worker", f"tcp://{self.address}", "--no-nanny", "--nthreads", "1",
                 "--no-dashboard"], env=self.env, cwd=self.cwd, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)))
        from distributed import Client

        alive = sum(w.poll() is None for w in self.workers)
        if not alive:
            return
        deadline = time.monotonic() + 60
        while True:
            try:
                with Client(f"tcp://{self.address}", timeout=5) as client:
                    client.wait_for_workers(alive, timeout=60)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


@pytest.mark.parametrize("replace", [False, True], ids=["one-of-two", "the-only-one"])
def test_dask_worker_without_nanny_killed_mid_search(tmp_path: Path, procs: Procs,
                                                     replace: bool) -> None:
    """kill -9 a worker mid-search; with ``replace`` it was the only worker, and a new one
    joins after it died (what a cluster manager does): nothing it held may be needed."""
    (tmp_path / "dask_pipeline.py").write_text(DASK_PIPELINE)
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    cluster = DaskCluster(tmp_path, procs)
    cluster.add_workers(1 if replace else 2)
    store = tmp_path / "s.db"
    proc = driftdoc_cli("debug", "space.json", "--executor", f"dask://{cluster.address}",
                        "--oracle", "dask_pipeline:run", "--store", str(store),
                        "--format", "json", cwd=tmp_path)
    try:
        assert wait_until(lambda: stored_runs(store) >= 4, 90), proc.stderr
        os.kill(cluster.workers[0].pid, signal.SIGKILL)
        if replace:
            cluster.workers[0].wait()
            cluster.add_workers(1)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["text"] == CAUSE
    assert_no_verdict_from_errors(store)


BROKEN_BWRAP = """#!/bin/sh
# passes driftdoc's start-up probe, then fails to set up every real run's sandbox
for a in "$@"; do
  if [ "$a" = /tmp/work ]; then
    echo "bwrap: Can't mount tmpfs on /newroot/tmp: No space left on device" >&2
    exit 1
  fi
done
exec {real} "$@"
"""

PIPE_SPEC = """
[parameters]
lr = [0.001, 0.01, 0.1, 0.5]
opt = ["sgd", "adam"]
batch = [16, 64, 256]
[pipeline]
command = "{py} job.py {{lr}} {{opt}}"
inputs = ["job.py"]
timeout = 20
"""

PIPE_JOB = """
import sys, time
time.sleep(0.05)
sys.exit(1 if float(sys.argv[1]) >= 0.1 and sys.argv[2] == "adam" else 0)
"""


def test_sandbox_that_fails_to_start_is_retried_elsewhere(tmp_path: Path, procs: Procs) -> None:
    """One worker's sandbox cannot start: its runs are errors (never verdicts), it stops
    taking work, and the other worker gives the right answer."""
    import shutil

    real = shutil.which("bwrap")
    if real is None:
        pytest.skip("bubblewrap is not installed")
    fake = tmp_path / "fakebin"
    fake.mkdir()
    (fake / "bwrap").write_text(BROKEN_BWRAP.format(real=real))
    (fake / "bwrap").chmod(0o755)
    (tmp_path / "job.py").write_text(PIPE_JOB)
    spec = tmp_path / "driftdoc.toml"
    spec.write_text(PIPE_SPEC.format(py=sys.executable))
    push, pull = free_ports(2)
    worker = ["worker", "--connect", "127.0.0.1", "--pull", str(push), "--push", str(pull),
              "--idle-timeout", "120", str(spec)]
    broken_env = dict(os.environ, PATH=f"{fake}:{os.environ.get('PATH', '')}")
    broken = driftdoc_cli(*worker, env=broken_env, cwd=tmp_path)
    proc = driftdoc_cli("debug", str(spec), "--store", "s.db", "--format", "json",
                        "--executor", f"zmq://127.0.0.1:{push}:{pull}", cwd=tmp_path)
    try:
        assert wait_until(lambda: broken.poll() is not None, 60)  # it gave up on itself
        healthy = driftdoc_cli(*worker, cwd=tmp_path)
        out, err = proc.communicate(timeout=180)
    finally:
        for p in (proc, broken):
            if p.poll() is None:
                p.kill()
        if "healthy" in locals():
            healthy.kill()
            healthy.communicate()
    _, broken_err = broken.communicate()
    assert broken.returncode == 1 and "runs in a row failed to start" in broken_err
    assert proc.returncode == 0, err
    assert json.loads(out)["text"] == CAUSE
    verdicts, errors = assert_no_verdict_from_errors(tmp_path / "s.db")
    assert errors == 3 and verdicts > 0
    with Store(tmp_path / "s.db") as store:
        assert {e.kind for e in store.errors()} == {"sandbox"}
        assert all("No space left" in e.message for e in store.errors())


def test_dask_without_workers_says_so_and_stops(tmp_path: Path, procs: Procs) -> None:
    (tmp_path / "dask_pipeline.py").write_text(DASK_PIPELINE)
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    cluster = DaskCluster(tmp_path, procs)
    cluster.add_workers(0)
    start = time.monotonic()
    proc = driftdoc_cli("debug", "space.json", "--executor", f"dask://{cluster.address}?wait=6",
                        "--oracle", "dask_pipeline:run", "--store", "s.db", cwd=tmp_path)
    out, err = proc.communicate(timeout=120)
    flat = " ".join(err.split())
    assert proc.returncode == 1, (out, err)
    assert f"no Dask worker in the cluster at {cluster.address} after 3 s" in flat
    assert f"no Dask worker joined the cluster at {cluster.address} within 6 s" in flat
    assert 6 <= time.monotonic() - start < 60
    assert assert_no_verdict_from_errors(tmp_path / "s.db") == (0, 0)
