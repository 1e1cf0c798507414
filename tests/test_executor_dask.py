"""Dask executor on a LocalCluster (in-process workers: fast and hermetic)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from driftdoc.model import Instance, Outcome, Space

pytest.importorskip("distributed")

from driftdoc.executors.factory import make_executor
from driftdoc.pipeline.runner import PipelineRunner
from driftdoc.pipeline.spec import load_spec


def even(inst: Instance) -> Outcome:
    return Outcome(int(inst["x"]) % 2 == 0, details={"x": inst["x"]})


def test_dask_local_cluster_runs_a_pipeline(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text("import sys; sys.exit(int(sys.argv[1]) % 3 == 0)\n")
    (tmp_path / "driftdoc.toml").write_text(
        f'[parameters]\nx = [0, 1, 2, 3, 4, 5]\n[pipeline]\ncommand = "{sys.executable} '
        'job.py {x}"\ninputs = ["job.py"]\ntimeout = 20\n')
    spec = load_spec(tmp_path / "driftdoc.toml")
    ex = make_executor("dask", PipelineRunner(spec), workers=2, timeout=spec.timeout)
    try:
        got = {int(i["x"]): o for i, o in ex.run(list(spec.space))}
        again = {int(i["x"]): o for i, o in ex.run([spec.space.instance({"x": 4})])}
    finally:
        ex.close()
    assert {x: o.succeeded for x, o in got.items()} == {x: x % 3 != 0 for x in range(6)}
    assert got[3].category == "exit-status"
    assert got[1].details["sandbox"]["mode"] == "bwrap"
    assert again[4].succeeded  # the executor can be reused for re-runs


def test_dask_with_plain_callable() -> None:
    space = Space.from_dict({"x": [1, 2, 3]})
    ex = make_executor("dask", even, workers=1)
    try:
        got = {int(i["x"]): o.succeeded for i, o in ex.run(list(space))}
    finally:
        ex.close()
    assert got == {1: False, 2: True, 3: False}


def test_dask_connects_to_a_running_scheduler() -> None:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                           host="127.0.0.1", dashboard_address=None)
    try:
        address = cluster.scheduler_address.removeprefix("tcp://")
        ex = make_executor(f"dask://{address}", even, workers=1)
        try:
            space = Space.from_dict({"x": [1, 2]})
            got = {int(i["x"]): o.succeeded for i, o in ex.run(list(space))}
        finally:
            ex.close()
    finally:
        cluster.close()
    assert got == {1: False, 2: True}
