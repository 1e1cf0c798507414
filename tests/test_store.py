"""The provenance store: atomic runs, experiments, BugDoc JSON-lines round trips."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from driftdoc.errors import InputError
from driftdoc.model import Outcome, Space
from driftdoc.store import Store, parse_bugdoc_lines, space_from_bugdoc_lines

SPACE = Space.from_dict({"lr": [0.01, 0.1], "opt": ["adam", "sgd"]})


def test_store_is_wal_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        exp = store.experiment("e", SPACE)
        rid = store.record(exp, SPACE.instance({"lr": 0.1, "opt": "adam"}),
                           Outcome(False, "crash", "boom", 0.5, {"stdout_tail": "x"}),
                           worker="w1")
        mode = store._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    with Store(path) as again:
        rec = again.run(rid)
        assert rec.params == {"lr": 0.1, "opt": "adam"}
        assert not rec.outcome.succeeded and rec.outcome.category == "crash"
        assert rec.outcome.details == {"stdout_tail": "x"} and rec.worker == "w1"
        assert again.experiment("e", SPACE) == exp  # get, not create


def test_bugdoc_roundtrip() -> None:
    store = Store.memory()
    exp = store.experiment("e", SPACE)
    store.record(exp, SPACE.instance({"lr": 0.1, "opt": "adam"}), Outcome(False))
    store.record(exp, SPACE.instance({"lr": 0.01, "opt": "sgd"}), Outcome(True))
    buf = io.StringIO()
    assert store.export_bugdoc(exp, buf) == 2
    lines = buf.getvalue().splitlines()
    assert json.loads(lines[0]) == {"lr": 0.1, "opt": "adam", "result": False}
    other = store.experiment("copy", SPACE)
    assert store.import_bugdoc(other, SPACE, lines) == 2
    assert [r.outcome.succeeded for r in store.runs(other)] == [False, True]
    assert space_from_bugdoc_lines(lines).names == ("lr", "opt")


def test_bad_history_is_rejected_whole() -> None:
    store = Store.memory()
    exp = store.experiment("e", SPACE)
    lines = [
        '{"lr": 0.1, "opt": "adam", "result": true}',
        '{"lr": 0.1, "opt": "rmsprop", "result": 1}',
    ]
    with pytest.raises(InputError, match="line 2"):
        store.import_bugdoc(exp, SPACE, lines)
    assert store.runs(exp) == []  # nothing half-written
    with pytest.raises(InputError, match="not JSON"):
        parse_bugdoc_lines(["{nope"], SPACE)
    with pytest.raises(InputError, match="'result'"):
        parse_bugdoc_lines(['{"lr": 0.1, "opt": "adam", "result": "maybe"}'], SPACE)


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(InputError, match="not a usable driftdoc store"):
        Store(bad)


def _writer(path: str, worker: int) -> None:
    store = Store(path)
    exp = store.experiment("shared", SPACE)
    for i in range(5):
        store.record(exp, SPACE.instance({"lr": 0.1, "opt": "adam"}), Outcome(i % 2 == 0),
                     worker=f"w{worker}")
    store.close()


def test_many_processes_open_and_write_one_store(tmp_path: Path) -> None:
    """Batch mode: several processes create and write the same store at the same moment."""
    import multiprocessing

    path = str(tmp_path / "shared.db")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert all(p.exitcode == 0 for p in procs)
    with Store(path) as store:
        runs = store.runs()
    assert len(runs) == 40 and {r.worker for r in runs} == {f"w{w}" for w in range(8)}


def test_opening_waits_for_a_writer_in_another_process(tmp_path: Path) -> None:
    """Another process mid-transaction must not make opening fail ("database is locked")."""
    import subprocess
    import sys
    import time

    path = tmp_path / "busy.db"
    Store(path).close()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"db = sqlite3.connect({str(path)!r}, timeout=30)\n"
        "db.execute('BEGIN IMMEDIATE')\n"
        "db.execute(\"INSERT INTO meta VALUES ('held', 'x')\")\n"
        "print('holding', flush=True)\n"
        "time.sleep(1.5)\n"
        "db.commit()\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    start = time.monotonic()
    with Store(path) as store:
        store.record(store.experiment("e", SPACE), SPACE.instance({"lr": 0.1, "opt": "adam"}),
                     Outcome(True))
    holder.wait(timeout=30)
    assert time.monotonic() - start >= 0.5  # it waited for the writer instead of failing
    with Store(path) as store:
        assert len(store.runs()) == 1


def test_a_poisoned_store_is_cleaned_on_open(tmp_path: Path) -> None:
    """Rows older versions stored as failing verdicts for lost workers become errors."""
    path = tmp_path / "old.db"
    with Store(path) as store:
        exp = store.experiment("e", SPACE)
        insts = list(SPACE)
        store.record(exp, insts[0], Outcome(True))
        store.record(exp, insts[1], Outcome(False, "exit-status", "exit 1"))
        store.record(exp, insts[2], Outcome(False, "worker-lost", "no worker answered"))
        store.record(exp, insts[3], Outcome(False, "sandbox", "bwrap: setting up uid map"))
        store.record(exp, insts[3], Outcome(False, "timeout", "no result from the Dask "
                                            "cluster in time", 0.0, {"executor": "dask"}))
        store.record(exp, insts[2], Outcome(False, "timeout", "killed after 5 s"),
                     source="run")  # a real time limit is a verdict and stays
        store.record(exp, insts[1], Outcome(False, "sandbox", "env half"), source="validation")
    with Store(path) as store:
        runs = store.runs(exp)
        errors = store.errors(exp)
    assert [(r.outcome.category, r.source) for r in runs] == [
        ("", "run"), ("exit-status", "run"), ("timeout", "run"), ("sandbox", "validation")]
    assert [(e.kind, e.params) for e in errors] == [
        ("worker-lost", dict(insts[2])), ("sandbox", dict(insts[3])),
        ("dispatch-timeout", dict(insts[3]))]
    assert all(e.source == "legacy-run" for e in errors)


def test_errors_are_kept_apart_from_verdicts(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        exp = store.experiment("e", SPACE)
        inst = SPACE.instance({"lr": 0.1, "opt": "adam"})
        eid = store.record_error(exp, inst, "worker-lost", "gone", attempts=4,
                                 details={"dispatch": {"history": ["worker disconnected"]}},
                                 worker="h:1")
        assert store.runs(exp) == [] and store.count_errors(exp) == 1
        err = store.errors(exp)[0]
    assert err.id == eid and err.kind == "worker-lost" and err.attempts == 4
    assert err.details["dispatch"]["history"] == ["worker disconnected"] and err.worker == "h:1"


def test_a_second_process_is_refused_an_experiment(tmp_path: Path) -> None:
    import subprocess
    import sys

    from driftdoc.store import ExperimentBusy

    path = tmp_path / "s.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from driftdoc.store import Store; "
         "s = Store(sys.argv[1]); s.claim('e'); print('held', flush=True); time.sleep(60)",
         str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with Store(path) as store:
            store.claim("other")  # another experiment is free
            with pytest.raises(ExperimentBusy, match=f"pid {holder.pid}"):
                store.claim("e")
    finally:
        holder.kill()
        holder.wait()
    with Store(path) as store:
        store.claim("e")  # the lock died with its process
        with Store(path) as same_process:
            same_process.claim("e")  # stores of one process share it
