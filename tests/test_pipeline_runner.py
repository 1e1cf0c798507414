"""PipelineRunner: snapshot isolation, categories of failure, evaluation, provenance."""

from __future__ import annotations

import hashlib
import json
import pickle
import sys
import textwrap
from pathlib import Path

import pytest

from driftdoc.model import Instance
from driftdoc.pipeline.runner import PipelineRunner
from driftdoc.pipeline.spec import load_spec

MODES = ["bwrap", "none"]


def make(tmp: Path, pipeline: str, evaluation: str = "", params: str = "x = [1, 2, 3]",
         files: dict[str, str] | None = None) -> Path:
    for name, text in (files or {}).items():
        p = tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    spec = tmp / "driftdoc.toml"
    spec.write_text(f"[parameters]\n{params}\n[pipeline]\n{pipeline}\n"
                    + (f"[evaluation]\n{evaluation}\n" if evaluation else ""))
    return spec


def inst(**kw: object) -> Instance:
    return Instance(kw.items())  # type: ignore[arg-type]


VANDAL = """
import os, pathlib, shutil, sys
data = pathlib.Path("data")
seen = (data / "a.txt").read_text()
print("seen", seen)
(data / "a.txt").write_text("vandalised")   # modify in place
os.remove(data / "b.txt")                     # delete
shutil.rmtree(data / "sub")
pathlib.Path("out.json").write_text('{"seen": "%s"}' % seen)
sys.exit(0 if seen == "original" else 3)
"""


@pytest.mark.parametrize(("mode", "writable"), [("bwrap", True), ("none", False)])
def test_snapshot_isolation(tmp_path: Path, mode: str, writable: bool) -> None:
    """Private writable copies: a run that rewrites its inputs changes nothing for others."""
    spec_path = make(
        tmp_path,
        f'command = "{sys.executable} vandal.py {{x}}"\ninputs = ["vandal.py", "data"]\n'
        f'sandbox = "{mode}"' + ("\nwritable_inputs = true" if writable else ""),
        files={"vandal.py": VANDAL, "data/a.txt": "original", "data/b.txt": "b",
               "data/sub/c.txt": "c"},
    )
    runner = PipelineRunner(load_spec(spec_path))
    assert runner.inputs_mode == "copy"
    for x in (1, 2, 3):
        out = runner(inst(x=x))
        assert out.succeeded, out
        assert out.details["stdout"] == "seen original\n"
        assert out.details["outputs"]["values"]["out.json"] == {"seen": "original"}
        assert "data/b.txt" in out.details["outputs"]["deleted"]
        assert "data/a.txt" in out.details["outputs"]["files"]
    assert (tmp_path / "data/a.txt").read_text() == "original"
    assert (tmp_path / "data/b.txt").exists() and (tmp_path / "data/sub/c.txt").exists()


def test_inputs_are_read_only_under_the_sandbox(tmp_path: Path) -> None:
    """By default a sandboxed run sees the snapshot read-only, free of copies."""
    spec_path = make(
        tmp_path, f'command = "{sys.executable} vandal.py {{x}}"\ninputs = ["vandal.py", "data"]',
        files={"vandal.py": VANDAL, "data/a.txt": "original", "data/b.txt": "b",
               "data/sub/c.txt": "c"},
    )
    runner = PipelineRunner(load_spec(spec_path))
    assert runner.inputs_mode == "link"
    for x in (1, 2):
        out = runner(inst(x=x))
        assert not out.succeeded and out.category == "exit-status"
        assert "Read-only file system" in out.message and "writable_inputs" in out.message
        assert out.details["stdout"] == "seen original\n"  # read, then refused the write
    snap = runner.ensure_snapshot()
    for rel, digest in snap.digests().items():  # the snapshot itself is untouched
        path = snap.root / "objects" / digest[:2] / digest
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, rel
    assert (tmp_path / "data/a.txt").read_text() == "original"


def test_provenance_is_complete_and_json(tmp_path: Path) -> None:
    spec_path = make(
        tmp_path,
        f'command = "{sys.executable} job.py {{x}}"\ninputs = ["job.py"]',
        'file = "metrics.json"\njson_path = "score"\n">=" = 2',
        files={"job.py": """
            import json, sys
            x = int(sys.argv[1])
            json.dump({"score": x}, open("metrics.json", "w"))
            print("done", x); sys.stderr.buffer.write(b"\\xff warn\\n")
        """},
    )
    spec = load_spec(spec_path)
    runner = PipelineRunner(spec)
    bad, good = runner(inst(x=1)), runner(inst(x=2))
    assert good.succeeded and not bad.succeeded
    assert bad.category == "evaluation" and "metrics.json:score = 1" in bad.message
    d = json.loads(json.dumps(good.details))  # JSON-serialisable
    assert d["params"] == {"x": 2}
    assert set(d["inputs"]) == {"job.py"} and len(d["inputs"]["job.py"]) == 64
    assert d["outputs"]["files"]["metrics.json"]["size"] > 0
    assert d["outputs"]["values"]["metrics.json"] == {"score": 2}
    assert d["evaluation"]["verdict"] is True and d["evaluation"]["actual"] == 2
    assert d["stdout"] == "done 2\n" and "\ufffd warn" in d["stderr"]
    assert d["worker"]["pid"] > 0 and d["worker"]["host"]
    assert d["duration"] > 0 and d["sandbox"]["mode"] == "bwrap"
    assert d["sandbox"]["startup"] > 0
    # picklable, so it can go to process pools and Dask workers
    assert pickle.loads(pickle.dumps(runner))(inst(x=3)).succeeded


def test_failure_categories(tmp_path: Path) -> None:
    spec_path = make(
        tmp_path,
        f'command = "{sys.executable} job.py {{x}}"\ninputs = ["job.py"]\ntimeout = 1\n'
        "memory_mb = 300",
        params='x = ["ok", "exit", "sleep", "segv", "mem"]',
        files={"job.py": """
            import os, signal, sys, time
            x = sys.argv[1]
            if x == "exit": sys.exit(4)
            if x == "sleep": time.sleep(60)
            if x == "segv": os.kill(os.getpid(), signal.SIGSEGV)
            if x == "mem": b = bytearray(800 * 1024 * 1024)
        """},
    )
    runner = PipelineRunner(load_spec(spec_path))
    got = {x: runner(inst(x=x)) for x in ("ok", "exit", "sleep", "segv", "mem")}
    assert got["ok"].succeeded
    assert got["exit"].category == "exit-status" and "exit status 4" in got["exit"].message
    assert got["sleep"].category == "timeout" and got["sleep"].duration < 5
    assert got["segv"].category == "crash" and "SIGSEGV" in got["segv"].message
    assert got["mem"].category == "memory"


CALLABLE = """
import json, os
def run(params):
    x = params["x"]
    if x == 2:
        raise ZeroDivisionError("boom")
    if x == 3:
        return False
    with open("result.json", "w") as fh:
        json.dump({"x": x}, fh)
    return {"x": x, "cwd": os.getcwd()}
"""

CHECK = """
def ok(outputs):
    return outputs["value"]["x"] == 1 and "result.json" in outputs["files"]
"""


@pytest.mark.parametrize("mode", MODES)
def test_callable_pipeline_and_callable_evaluation(tmp_path: Path, mode: str) -> None:
    spec_path = make(
        tmp_path,
        f'callable = "pipe:run"\ninputs = ["pipe.py"]\nsandbox = "{mode}"',
        'callable = "checks:ok"',
        params="x = [1, 2, 3, 4]",
        files={"pipe.py": CALLABLE, "checks.py": CHECK},
    )
    runner = PipelineRunner(load_spec(spec_path))
    one, two, three, four = (runner(inst(x=x)) for x in (1, 2, 3, 4))
    assert one.succeeded, one
    assert one.details["value"]["x"] == 1
    assert two.category == "crash" and "ZeroDivisionError: boom" in two.message
    assert not three.succeeded
    assert four.category == "evaluation"


def test_missing_program_and_evaluation_error(tmp_path: Path) -> None:
    spec_path = make(tmp_path, 'command = "/nonexistent/prog {x}"')
    out = PipelineRunner(load_spec(spec_path))(inst(x=1))
    assert not out.succeeded and out.category == "exit-status"
    spec_path = make(tmp_path, 'command = "true {x}"', 'callable = "nomodule:f"')
    out = PipelineRunner(load_spec(spec_path))(inst(x=1))
    assert out.category == "evaluation-error"


def test_network_blocked_in_runs_by_default(tmp_path: Path) -> None:
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    job = f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=2)"
    try:
        spec_path = make(tmp_path, f'command = "{sys.executable} job.py {{x}}"\n'
                         'inputs = ["job.py"]', files={"job.py": job})
        assert not PipelineRunner(load_spec(spec_path))(inst(x=1)).succeeded
        spec_path = make(tmp_path, f'command = "{sys.executable} job.py {{x}}"\n'
                         'inputs = ["job.py"]\nnetwork = true', files={"job.py": job})
        assert PipelineRunner(load_spec(spec_path))(inst(x=1)).succeeded
    finally:
        srv.close()


def test_regex_on_stdout_and_keep_runs(tmp_path: Path) -> None:
    spec_path = make(tmp_path, 'command = "echo value={x}"\nkeep_runs = true',
                     'regex = "value=[12]$"')
    runner = PipelineRunner(load_spec(spec_path))
    a, c = runner(inst(x=1)), runner(inst(x=3))
    assert a.succeeded and not c.succeeded and c.category == "evaluation"
    assert Path(a.details["workdir"]).is_dir()


def test_big_return_values_and_many_inputs_stay_small(tmp_path: Path) -> None:
    files = {f"data/f{i}.txt": str(i) for i in range(250)}
    files["big.py"] = "def run(params):\n    return {'blob': 'x' * 100000}\n"
    spec_path = make(tmp_path, 'callable = "big:run"\ninputs = ["big.py", "data"]\n'
                     'sandbox = "none"', files=files)
    out = PipelineRunner(load_spec(spec_path))(inst(x=1))
    assert out.succeeded, out
    assert out.details["value"]["truncated"] is True
    assert out.details["inputs"]["files"] == 251
    assert len(json.dumps(out.details)) < 20000
