"""``driftdoc worker``: argument checks, and serving a dispatcher until --max-runs."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from driftdoc.cli import main
from driftdoc.executors.zmq import ZmqExecutor
from driftdoc.model import Space


def spec(tmp: Path) -> Path:
    (tmp / "job.py").write_text("import sys; sys.exit(int(sys.argv[1]) == 2)\n")
    path = tmp / "driftdoc.toml"
    path.write_text(f'[parameters]\nx = [1, 2, 3]\n[pipeline]\ncommand = "{sys.executable} '
                    'job.py {x}"\ninputs = ["job.py"]\ntimeout = 10\n')
    return path


@pytest.mark.parametrize(("args", "needle"), [
    (["--max-runs", "0"], "--max-runs"),
    (["--pull", "0"], "--pull"),
    (["--sandbox", "docker"], "unknown sandbox"),
])
def test_bad_arguments_are_one_line_errors(tmp_path: Path, args: list[str], needle: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", *args, str(spec(tmp_path))]) == 2
    assert needle in capsys.readouterr().err


def test_missing_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["worker", str(tmp_path / "nope.toml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_worker_in_process_until_max_runs(tmp_path: Path) -> None:
    path = spec(tmp_path)
    ex = ZmqExecutor(filename=str(path), host="127.0.0.1", push_port=0, pull_port=0,
                     timeout=20, protocol="json")
    codes: list[int] = []
    t = threading.Thread(target=lambda: codes.append(main([
        "worker", "--connect", "127.0.0.1", "--pull", str(ex.push_port), "--push",
        str(ex.pull_port), "--max-runs", "3", "--sandbox", "none", str(path)])))
    t.start()
    try:
        got = {int(i["x"]): o for i, o in ex.run(list(Space.from_dict({"x": [1, 2, 3]})))}
    finally:
        t.join(20)
        ex.close()
    assert codes == [0]
    assert {x: o.succeeded for x, o in got.items()} == {1: True, 2: False, 3: True}
    assert got[1].details["sandbox"]["mode"] == "none"


def test_worker_can_answer_in_bugdoc_format(tmp_path: Path) -> None:
    path = spec(tmp_path)
    ex = ZmqExecutor(filename=str(path), host="127.0.0.1", push_port=0, pull_port=0, timeout=20)
    codes: list[int] = []
    t = threading.Thread(target=lambda: codes.append(main([
        "worker", "--connect", "127.0.0.1", "--pull", str(ex.push_port), "--push",
        str(ex.pull_port), "--max-runs", "3", "--sandbox", "none", "--bugdoc-replies",
        str(path)])))
    t.start()
    try:
        got = {int(i["x"]): o for i, o in ex.run(list(Space.from_dict({"x": [1, 2, 3]})))}
    finally:
        t.join(20)
        ex.close()
    assert codes == [0]
    assert {x: o.succeeded for x, o in got.items()} == {1: True, 2: False, 3: True}
    assert "sandbox" not in got[1].details  # a bare verdict: BugDoc's format has no room
