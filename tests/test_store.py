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
