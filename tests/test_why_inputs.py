"""Issue 13's input and concurrency cases with real files, real processes and a real store.

- An input overwritten mid-search: every run still sees the snapshot taken at the start,
  the recorded digests are the snapshot's, and the change is said plainly.
- A rerun after the inputs changed starts a new experiment and says so; ``--inputs
  snapshot`` continues the old one on its own snapshot.
- Databases: SQLite snapshots through the online backup API and a dump command, several
  of them as the values of a parameter (the seed's D).
- Two processes on one store and experiment: one searches, the other is refused in one
  line, and no configuration is recorded twice.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from driftdoc.store import Store
from support.seed import driftdoc_cli, wait_until

JOB = """
import sys, time
lr, opt = float(sys.argv[1]), sys.argv[2]
threshold = float(open("threshold.txt").read())
time.sleep(float(sys.argv[3]))
sys.exit(1 if lr >= threshold and opt == "adam" else 0)
"""


def make_spec(tmp: Path, *, sleep: float = 0.0, extra: str = "") -> Path:
    (tmp / "job.py").write_text(JOB)
    (tmp / "threshold.txt").write_text("0.1")
    spec = tmp / "driftdoc.toml"
    spec.write_text(
        'name = "thresholds"\n[parameters]\nlr = [0.001, 0.01, 0.1, 0.5]\n'
        'opt = ["sgd", "adam"]\nbatch = [16, 64, 256]\n'
        f'[pipeline]\ncommand = "{sys.executable} job.py {{lr}} {{opt}} {sleep}"\n'
        f'inputs = ["job.py", "threshold.txt"]\ntimeout = 30\n{extra}')
    return spec


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def failing_set(causes: list[list[list[object]]], space: dict[str, list[object]]
                ) -> set[tuple[object, ...]]:
    """The configurations the reported causes cover: compares answers, not renderings."""
    from driftdoc.model import Predicate, Space

    sp = Space.from_dict(space)  # type: ignore[arg-type]
    return {tuple(i.values_list()) for i in sp
            if any(all(Predicate(p, o, v).holds(i) for p, o, v in c)  # type: ignore[arg-type]
                   for c in causes)}


def run_rows(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("sandbox", ["bwrap", "none"])
def test_input_overwritten_mid_search(tmp_path: Path, sandbox: str) -> None:
    spec = make_spec(tmp_path, sleep=0.05)
    store = tmp_path / "s.db"
    proc = driftdoc_cli("debug", str(spec), "--store", str(store), "--sandbox", sandbox,
                        "--format", "json", cwd=tmp_path)
    try:
        assert wait_until(lambda: run_rows(store) >= 3, 60)
        (tmp_path / "threshold.txt").write_text("0.001")  # now every adam run would fail
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert json.loads(out)["text"] == ["lr >= 0.1 AND opt == adam"]
    assert "the live inputs changed during the search (threshold.txt)" in " ".join(err.split())
    with Store(store) as s:
        runs = s.runs()
    assert len(runs) > 5
    assert {r.outcome.details["inputs"]["threshold.txt"] for r in runs} == {sha("0.1")}
    assert len({r.outcome.details["snapshot"] for r in runs}) == 1


def test_rerun_after_inputs_changed(tmp_path: Path) -> None:
    spec = make_spec(tmp_path)
    args = ["debug", str(spec), "--store", str(tmp_path / "s.db"), "--format", "json"]
    first = driftdoc_cli(*args, cwd=tmp_path)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert json.loads(out)["text"] == ["lr >= 0.1 AND opt == adam"]
    (tmp_path / "threshold.txt").write_text("0.01")

    # opt in: continue the old experiment on its own snapshot, whatever the live file says
    old = driftdoc_cli(*args, "--inputs", "snapshot", cwd=tmp_path)
    out, err = old.communicate(timeout=300)
    assert old.returncode == 0, err
    data = json.loads(out)
    assert data["text"] == ["lr >= 0.1 AND opt == adam"] and data["runs"] == 0
    assert "continuing experiment pipeline:thresholds@" in err

    # default: the change is said plainly and a new experiment starts on a new snapshot
    new = driftdoc_cli(*args, cwd=tmp_path)
    out, err = new.communicate(timeout=300)
    assert new.returncode == 0, err
    space = {"lr": [0.001, 0.01, 0.1, 0.5], "opt": ["sgd", "adam"], "batch": [16, 64, 256]}
    assert failing_set(json.loads(out)["causes"], space) == {
        (lr, "adam", b) for lr in (0.01, 0.1, 0.5) for b in (16, 64, 256)}
    assert "the inputs changed since experiment pipeline:thresholds@" in " ".join(err.split())
    assert "(threshold.txt)" in " ".join(err.split())
    with Store(tmp_path / "s.db") as s:
        exps = s.experiments()
        assert len(exps) == 2 and exps[0].meta["snapshot"] != exps[1].meta["snapshot"]
        for exp in exps:
            digests = {r.outcome.details["inputs"]["threshold.txt"] for r in s.runs(exp.id)}
            assert len(digests) == 1


DB_JOB = """
import sqlite3, sys
lr = float(sys.argv[1])
mood = sqlite3.connect("file:D.db?mode=ro", uri=True).execute("SELECT v FROM t").fetchone()[0]
sys.exit(1 if mood == "bad" and lr >= 0.1 else 0)
"""

DUMP = ("import shutil, sys; shutil.copy('exported.db', sys.argv[1])")


def make_db(path: Path, mood: str) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t (v TEXT)")
    db.execute("INSERT INTO t VALUES (?)", (mood,))
    db.commit()
    db.close()


def test_database_snapshots_as_parameter_values(tmp_path: Path) -> None:
    (tmp_path / "job.py").write_text(DB_JOB)
    make_db(tmp_path / "monday.db", "good")
    make_db(tmp_path / "tuesday.db", "bad")
    make_db(tmp_path / "exported.db", "good")
    live = sqlite3.connect(tmp_path / "tuesday.db")  # a writer holds the database open
    live.execute("PRAGMA journal_mode=WAL")
    (tmp_path / "driftdoc.toml").write_text(
        '[parameters]\nlr = [0.01, 0.1, 0.5]\nopt = ["sgd", "adam"]\n'
        f'[pipeline]\ncommand = "{sys.executable} job.py {{lr}}"\ninputs = ["job.py"]\n'
        'timeout = 30\n'
        '[snapshots.D]\npath = "D.db"\n'
        'versions.monday = { sqlite = "monday.db" }\n'
        'versions.tuesday = { sqlite = "tuesday.db" }\n'
        f'versions.export = {{ command = ["{sys.executable}", "-c", "{DUMP}", "{{output}}"] }}\n')
    proc = driftdoc_cli("debug", "driftdoc.toml", "--store", "s.db", "--format", "json",
                        cwd=tmp_path)
    out, err = proc.communicate(timeout=300)
    live.close()
    assert proc.returncode == 0, err
    space = {"lr": [0.01, 0.1, 0.5], "opt": ["sgd", "adam"],
             "D": ["monday", "tuesday", "export"]}
    assert failing_set(json.loads(out)["causes"], space) == {
        (lr, opt, "tuesday") for lr in (0.1, 0.5) for opt in ("sgd", "adam")}
    with Store(tmp_path / "s.db") as s:
        runs = s.runs()
    per_version = {}
    for r in runs:
        per_version.setdefault(r.params["D"], set()).add(r.outcome.details["inputs"]["D.db"])
    assert all(len(d) == 1 for d in per_version.values())  # one snapshot per version
    assert len(set().union(*per_version.values())) == len(per_version)


def test_two_processes_on_one_experiment(tmp_path: Path) -> None:
    spec = make_spec(tmp_path, sleep=0.1)
    args = ["debug", str(spec), "--store", str(tmp_path / "s.db"), "--format", "json"]
    first = driftdoc_cli(*args, cwd=tmp_path)
    assert wait_until(lambda: run_rows(tmp_path / "s.db") >= 1, 60)
    second = driftdoc_cli(*args, cwd=tmp_path)
    out2, err2 = second.communicate(timeout=120)
    out1, err1 = first.communicate(timeout=300)
    assert first.returncode == 0, err1
    assert json.loads(out1)["text"] == ["lr >= 0.1 AND opt == adam"]
    assert second.returncode == 1 and out2 == ""
    lines = [ln for ln in err2.splitlines() if ln.strip()]
    assert len(lines) == 1 and "is being searched by another driftdoc process" in lines[0]
    assert f"pid {first.pid}" in lines[0]
    with sqlite3.connect(tmp_path / "s.db") as db:
        dupes = db.execute("SELECT key, COUNT(*) FROM runs WHERE source = 'run' "
                           "GROUP BY experiment_id, key HAVING COUNT(*) > 1").fetchall()
    assert dupes == []
    # once the first is done, the experiment is free again, and a rerun resumes it
    third = driftdoc_cli(*args, cwd=tmp_path)
    out3, err3 = third.communicate(timeout=120)
    assert third.returncode == 0, err3
    assert json.loads(out3)["runs"] == 0


def test_zmq_worker_on_other_inputs_gives_no_verdicts(tmp_path: Path) -> None:
    """A driftdoc worker whose copy of the inputs differs answers on another snapshot:
    its replies are errors, never verdicts, and the search says so and exits 1."""
    from support.seed import free_ports

    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    spec = make_spec(here)
    make_spec(there)
    (there / "threshold.txt").write_text("0.01")  # the worker's copy differs
    push, pull = free_ports(2)
    worker = driftdoc_cli("worker", "--connect", "127.0.0.1", "--pull", str(push),
                          "--push", str(pull), "--idle-timeout", "60",
                          str(there / "driftdoc.toml"), cwd=there)
    try:
        proc = driftdoc_cli("debug", str(spec), "--store", str(tmp_path / "s.db"),
                            "--executor", f"zmq://127.0.0.1:{push}:{pull}?retries=1",
                            cwd=here)
        out, err = proc.communicate(timeout=300)
    finally:
        worker.kill()
        worker.communicate()
    assert proc.returncode == 1, (out, err)
    assert "ran on its own snapshot" in " ".join(err.split())
    with Store(tmp_path / "s.db") as s:
        assert s.runs() == [] and {e.kind for e in s.errors()} == {"snapshot"}
