"""The ZeroMQ dispatcher drives BugDoc-style workers (unchanged seed script) and our own."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftdoc.executors.base import RunError
from driftdoc.executors.factory import make_executor
from driftdoc.executors.zmq import ZmqExecutor, bugdoc_request, parse_reply, parse_request
from driftdoc.model import Instance, Outcome, Space
from support.seed import start_seed_worker, write_seed

SPACE = Space.from_dict({"lr": [0.001, 0.01, 0.1, 0.5], "opt": ["sgd", "adam"],
                         "batch": [16, 64]})


def truth(inst: Instance) -> bool:
    return not (float(inst["lr"]) >= 0.1 and inst["opt"] == "adam")


@pytest.fixture()
def seed_env(tmp_path: Path) -> dict[str, str]:
    return write_seed(tmp_path)


class Workers:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def seed(self, env: dict[str, str], ex: ZmqExecutor, **extra: str) -> subprocess.Popen[bytes]:
        return self.seed_at(env, ex.push_port, ex.pull_port, **extra)

    def seed_at(self, env: dict[str, str], push: int, pull: int, **extra: str
                ) -> subprocess.Popen[bytes]:
        proc = start_seed_worker(env, push, pull, **extra)
        self.procs.append(proc)
        return proc

    def driftdoc(self, spec: Path, ex: ZmqExecutor, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from driftdoc.cli import main; "
             "sys.exit(main(sys.argv[1:]))", "worker", "--connect", "127.0.0.1",
             "--pull", str(ex.push_port), "--push", str(ex.pull_port), *args, str(spec)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait()


@pytest.fixture()
def workers() -> Iterator[Workers]:
    w = Workers()
    yield w
    w.stop()


def local_zmq(**kw: object) -> ZmqExecutor:
    return ZmqExecutor(filename="pipeline.vt", host="127.0.0.1", push_port=0, pull_port=0,
                       **kw)  # type: ignore[arg-type]


def collect(ex: ZmqExecutor, instances: list[Instance]) -> dict[Instance, Any]:
    got: dict[Instance, Any] = {}
    for inst, out in ex.run(instances):
        assert inst not in got, "an instance was answered twice"
        got[inst] = out
    assert set(got) == set(instances)
    return got


def test_wire_format_round_trip() -> None:
    msg = bugdoc_request("p.vt", [0.1, "adam", 16, True], ["lr", "opt", "batch", "flag"])
    assert msg == "p.vt|[0.1, 'adam', 16, True]|['lr', 'opt', 'batch', 'flag']"
    assert parse_request(msg) == (None, "p.vt", [0.1, "adam", 16, True],
                                  ["lr", "opt", "batch", "flag"])
    rid, values, out = parse_reply(str([0.1, "adam", 16, True, False]))
    assert rid is None and values == [0.1, "adam", 16, True] and not out.succeeded
    with pytest.raises(ValueError):
        parse_reply("__import__('os').system('echo pwned')")


def test_seed_worker_driven_by_dispatcher(seed_env: dict[str, str], workers: Workers) -> None:
    ex = local_zmq(timeout=20)
    try:
        workers.seed(seed_env, ex)
        instances = list(SPACE)
        got = collect(ex, instances)
    finally:
        ex.close()
    for inst, out in got.items():
        assert out.succeeded == truth(inst), inst
        assert out.details["dispatch"]["attempts"] == 1
    records = Path(seed_env["RECORD_FILE"]).read_text().splitlines()
    assert len(records) == len(instances)
    first = json.loads(records[0])
    assert first["filename"] == "pipeline.vt" and first["parameters"] == ["lr", "opt", "batch"]


def test_worker_killed_mid_search(seed_env: dict[str, str], workers: Workers) -> None:
    ex = local_zmq(timeout=10)
    try:
        doomed = workers.seed(seed_env, ex, DIE_AFTER="2", RUN_SLEEP="0.05")
        workers.seed(seed_env, ex, RUN_SLEEP="0.05")
        got = collect(ex, list(SPACE))
        assert doomed.wait(5) == 17  # it really died mid-run
    finally:
        ex.close()
    assert all(out.succeeded == truth(inst) for inst, out in got.items())
    resent = [o for o in got.values() if o.details["dispatch"]["attempts"] > 1]
    assert resent, "the lost request was not re-dispatched"
    assert "worker disconnected" in resent[0].details["dispatch"]["history"]
    assert ex.disconnects >= 1


def test_unanswered_request_is_resent_after_timeout(seed_env: dict[str, str],
                                                    workers: Workers, tmp_path: Path) -> None:
    ex = local_zmq(timeout=1.0)
    try:
        # the only worker hangs 3 s on its first request; the dispatcher re-sends after 1 s
        workers.seed(seed_env, ex, DROP_FIRST=str(tmp_path / "dropped"), DROP_SLEEP="3")
        first = list(SPACE)[:3]
        start = time.monotonic()
        got = collect(ex, first)
        assert time.monotonic() - start < 30
    finally:
        ex.close()
    assert all(out.succeeded == truth(inst) for inst, out in got.items())
    assert any("no reply within 1s" in o.details["dispatch"]["history"] for o in got.values())


def test_hung_workers_give_worker_lost_not_a_hang(seed_env: dict[str, str],
                                                  workers: Workers, tmp_path: Path) -> None:
    ex = local_zmq(timeout=0.5, retries=1)
    try:
        workers.seed(seed_env, ex, DROP_FIRST=str(tmp_path / "hang"), DROP_SLEEP="60")
        start = time.monotonic()
        got = collect(ex, list(SPACE)[:2])
        assert time.monotonic() - start < 10
    finally:
        ex.close()
    # the machinery failed, so no verdict: a RunError, never a failing Outcome
    assert all(isinstance(o, RunError) and o.kind == "dispatch-timeout" and o.attempts == 2
               and o.details["dispatch"]["attempts"] == 2 for o in got.values())


PIPE_SPEC = """
[parameters]
lr = [0.001, 0.01, 0.1, 0.5]
opt = ["sgd", "adam"]
batch = [16, 64]
[pipeline]
command = "{py} job.py {{lr}} {{opt}}"
inputs = ["job.py"]
timeout = 10
"""

JOB = """
import sys
lr, opt = float(sys.argv[1]), sys.argv[2]
print("lr", lr, "opt", opt)
sys.exit(1 if lr >= 0.1 and opt == "adam" else 0)
"""


@pytest.fixture()
def pipeline_spec(tmp_path: Path) -> Path:
    d = tmp_path / "pipe"
    d.mkdir()
    (d / "job.py").write_text(JOB)
    spec = d / "driftdoc.toml"
    spec.write_text(PIPE_SPEC.format(py=sys.executable))
    return spec


@pytest.mark.parametrize("protocol", ["bugdoc", "json"])
def test_driftdoc_worker_returns_full_outcomes(pipeline_spec: Path, workers: Workers,
                                               protocol: str) -> None:
    ex = local_zmq(timeout=20, protocol=protocol)
    try:
        proc = workers.driftdoc(pipeline_spec, ex, "--max-runs", "16")
        got = collect(ex, list(SPACE))
        assert proc.wait(20) == 0
    finally:
        ex.close()
    for inst, out in got.items():
        assert out.succeeded == truth(inst)
        assert out.details["params"] == dict(inst)
        assert out.details["stdout"].startswith("lr ")
        assert out.details["worker"]["id"].endswith(f":{proc.pid}")
        assert out.details["sandbox"]["mode"] == "bwrap"
    bad = next(o for i, o in got.items() if not truth(i))
    assert bad.category == "exit-status"


def test_factory_parses_zmq_specs(seed_env: dict[str, str], workers: Workers) -> None:
    ex = make_executor("zmq://127.0.0.1:0:0?retries=1", lambda i: Outcome(True),
                       filename="f.vt", timeout=1)
    try:
        assert isinstance(ex, ZmqExecutor)
        assert ex.retries == 1 and ex.timeout == 12 and ex.push_port > 0
        workers.seed(seed_env, ex)
        got = collect(ex, list(SPACE)[:4])
        assert all(o.succeeded == truth(i) for i, o in got.items())
    finally:
        ex.close()


HAS_ALGORITHMS = importlib.util.find_spec("driftdoc.algorithms.registry") is not None
needs_algorithms = pytest.mark.skipif(not HAS_ALGORITHMS, reason="algorithms not merged yet")


@needs_algorithms
def test_search_survives_a_killed_worker(seed_env: dict[str, str], workers: Workers) -> None:
    from driftdoc.api import debug

    ex = local_zmq(timeout=10)
    try:
        workers.seed(seed_env, ex, DIE_AFTER="3", RUN_SLEEP="0.05")
        workers.seed(seed_env, ex, RUN_SLEEP="0.05")
        diag = debug(SPACE, executor=ex, experiment="zmq-kill", budget=None)
    finally:
        ex.close()
    assert [c.text(SPACE.names) for c in diag.causes] == ["lr >= 0.1 AND opt == adam"]
    assert ex.disconnects >= 1


@needs_algorithms
def test_cli_debug_drives_seed_workers(seed_env: dict[str, str], workers: Workers,
                                       pipeline_spec: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    from driftdoc.cli import main

    ports = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        s.close()

    workers.seed_at(seed_env, ports[0], ports[1])
    rc = main(["debug", str(pipeline_spec), "--executor",
               f"zmq://127.0.0.1:{ports[0]}:{ports[1]}", "--store", str(tmp_path / "s.db"),
               "--format", "json"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert json.loads(out)["text"] == ["lr >= 0.1 AND opt == adam"]
    records = [json.loads(x) for x in Path(seed_env["RECORD_FILE"]).read_text().splitlines()]
    assert records and records[0]["filename"] == str(pipeline_spec.resolve())


def test_error_replies_are_never_verdicts() -> None:
    """A worker whose own machinery failed says so; BugDoc's format cannot, so it is silent."""
    from driftdoc.executors.zmq import _answer

    def broken(inst: Instance) -> RunError:
        return RunError("sandbox", "bwrap: cannot mount")

    reply = _answer(bugdoc_request("p.vt", [0.1, "adam", 16], ["lr", "opt", "batch"]),
                    broken, SPACE, "w:1")
    assert "outcome" not in reply and reply["error"]["kind"] == "sandbox"
    _, values, result = parse_reply(json.dumps(reply))
    assert isinstance(result, RunError) and result.message == "bwrap: cannot mount"
    assert values == [0.1, "adam", 16] and result.details["worker"]["id"] == "w:1"
    bad = _answer("not|a request", broken, SPACE, "w:1")
    assert bad["error"]["kind"] == "worker-error"
    with pytest.raises(ValueError):
        parse_reply(json.dumps({"values": [], "error": {"kind": "made-up"}}))
