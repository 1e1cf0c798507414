"""Pipelines end to end: spec -> executor -> Session/debug, resume, and the CLI."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

from driftdoc.events import Event
from driftdoc.model import Instance, Outcome
from driftdoc.pipeline.cli_glue import prepare_pipeline
from driftdoc.session import RunFinished, Session
from driftdoc.store import Store
from support.schema import assert_valid

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "pipeline"
HAS_ALGORITHMS = importlib.util.find_spec("driftdoc.algorithms.registry") is not None
needs_algorithms = pytest.mark.skipif(not HAS_ALGORITHMS, reason="algorithms not merged yet")

COUNTING = """
import sys
with open(sys.argv[3], "a") as fh:
    fh.write(sys.argv[1] + sys.argv[2] + "\\n")
sys.exit(1 if float(sys.argv[1]) >= 0.1 and sys.argv[2] == "adam" else 0)
"""


def counting_spec(tmp: Path) -> tuple[Path, Path]:
    log = tmp / "invocations.log"
    (tmp / "job.py").write_text(COUNTING)
    spec = tmp / "driftdoc.toml"
    spec.write_text(
        "[parameters]\nlr = [0.001, 0.01, 0.1, 0.5]\nopt = [\"sgd\", \"adam\"]\n"
        f'[pipeline]\ncommand = "{sys.executable} job.py {{lr}} {{opt}} {log}"\n'
        'inputs = ["job.py"]\nsandbox = "none"\ntimeout = 20\n'
    )
    return spec, log


def truth(inst: Instance) -> bool:
    return not (float(inst["lr"]) >= 0.1 and inst["opt"] == "adam")


class StopAfter:
    def __init__(self, n: int) -> None:
        self.n = n

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished) and event.runs >= self.n:
            raise KeyboardInterrupt


def test_resume_after_interruption_does_not_rerun(tmp_path: Path) -> None:
    spec_path, log = counting_spec(tmp_path)
    db = tmp_path / "runs.db"
    space, ex, name, _ = prepare_pipeline(spec_path)
    store = Store(db)
    session = Session(space, ex, store=store, experiment=name, reporter=StopAfter(3))
    with pytest.raises(KeyboardInterrupt):
        session.evaluate(list(space))
    ex.close()
    store.close()
    assert len(log.read_text().splitlines()) == 3

    space, ex, name2, _ = prepare_pipeline(spec_path)
    assert name2 == name  # same spec and inputs: same experiment
    store = Store(db)
    session = Session(space, ex, store=store, experiment=name)
    outcomes = session.evaluate(list(space))
    ex.close()
    store.close()
    assert session.history == 3 and session.runs == space.size - 3
    assert len(log.read_text().splitlines()) == space.size  # nothing ran twice
    assert [o.succeeded for o in outcomes if o] == [truth(i) for i in space]


def test_example_pipeline_every_configuration(tmp_path: Path) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    space, ex, name, defaults = prepare_pipeline(example / "driftdoc.toml", workers=2)
    try:
        session = Session(space, ex, experiment=name)
        outcomes = session.evaluate(list(space))
    finally:
        ex.close()
    for inst, out in zip(space, outcomes, strict=True):
        assert out is not None
        expected = not (float(inst["lr"]) >= 0.1 and inst["optimizer"] == "adam")
        assert out.succeeded == expected, (inst, out.message)
    assert defaults["budget"] == 60
    # the snapshot protected the originals
    assert sorted(p.name for p in example.iterdir()) == sorted(p.name for p in EXAMPLE.iterdir())


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from driftdoc.cli import main

    rc = main(args)
    return rc, capsys.readouterr().out


@needs_algorithms
def test_cli_debug_example_finds_the_cause(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    example = tmp_path / "example"
    shutil.copytree(EXAMPLE, example)
    rc, out = run_cli(["debug", str(example / "driftdoc.toml"), "--store",
                       str(tmp_path / "s.db"), "--workers", "2", "--format", "json"], capsys)
    assert rc == 0
    summary = json.loads(out)
    assert_valid(summary, "debug")
    assert summary["text"] == ["lr >= 0.1 AND optimizer == adam"]


@needs_algorithms
def test_cli_debug_resumes_from_the_store(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    spec_path, log = counting_spec(tmp_path)
    args = ["debug", str(spec_path), "--store", str(tmp_path / "s.db"), "--format", "json"]
    rc, out = run_cli(args, capsys)
    assert rc == 0
    first = len(log.read_text().splitlines())
    rc, out = run_cli(args, capsys)
    assert rc == 0 and json.loads(out)["runs"] == 0
    assert len(log.read_text().splitlines()) == first
    assert json.loads(out)["text"] == ["lr >= 0.1 AND opt == adam"]


@needs_algorithms
def test_cli_debug_with_zmq_executor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    import subprocess
    import threading

    def free_port() -> int:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return int(port)

    spec_path, _ = counting_spec(tmp_path)
    push, pull = free_port(), free_port()
    worker = subprocess.Popen(
        [sys.executable, "-c", "import sys; from driftdoc.cli import main; "
         "sys.exit(main(sys.argv[1:]))", "worker", "--connect", "127.0.0.1", "--pull",
         str(push), "--push", str(pull), "--idle-timeout", "30", str(spec_path)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        rc, out = run_cli(["debug", str(spec_path), "--store", str(tmp_path / "s.db"),
                           "--executor", f"zmq://127.0.0.1:{push}:{pull}", "--format",
                           "json"], capsys)
    finally:
        worker.kill()
        worker.wait()
    del threading
    assert rc == 0
    assert json.loads(out)["text"] == ["lr >= 0.1 AND opt == adam"]


def test_outcome_details_survive_the_store(tmp_path: Path) -> None:
    spec_path, _ = counting_spec(tmp_path)
    space, ex, name, _ = prepare_pipeline(spec_path, sandbox="bwrap")
    store = Store(tmp_path / "s.db")
    try:
        session = Session(space, ex, store=store, experiment=name)
        session.evaluate([space.instance({"lr": 0.5, "opt": "adam"})])
        rec = store.runs(session.experiment_id)[0]
    finally:
        ex.close()
        store.close()
    out: Outcome = rec.outcome
    assert not out.succeeded and out.category == "exit-status"
    assert rec.outcome.details["params"] == {"lr": 0.5, "opt": "adam"}
    assert rec.outcome.details["sandbox"]["mode"] == "bwrap"


@needs_algorithms
def test_cli_debug_recheck_and_dask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec_path, log = counting_spec(tmp_path)
    args = ["debug", str(spec_path), "--store", str(tmp_path / "s.db"), "--format", "json",
            "--executor", "dask", "--workers", "2"]
    rc, out = run_cli(args, capsys)
    assert rc == 0 and json.loads(out)["text"] == ["lr >= 0.1 AND opt == adam"]
    first = len(log.read_text().splitlines())
    rc, out = run_cli([*args, "--recheck", "3"], capsys)
    data = json.loads(out)
    assert rc == 0 and data["status"] == "found"
    # the cause's support plus three other verdicts, re-run through the executor
    assert data["reruns"] >= 3 + 2 and data["runs"] == data["reruns"]
    assert len(log.read_text().splitlines()) == first + data["reruns"]


def test_cli_algorithm_overrides_the_spec_default(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """An explicit --algorithm ddt wins over the spec's [search] algorithm."""
    from driftdoc.cli import main

    example = Path(__file__).resolve().parents[1] / "examples" / "pipeline"
    work = tmp_path / "pipeline"
    shutil.copytree(example, work)
    spec = work / "driftdoc.toml"
    spec.write_text(spec.read_text().replace('algorithm = "ddt"', 'algorithm = "shortcut"'))
    store = str(tmp_path / "s.db")
    assert main(["debug", str(spec), "--store", store, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["algorithm"] == "shortcut"
    assert main(["debug", str(spec), "--algorithm", "ddt", "--store", store,
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["algorithm"] == "ddt"
