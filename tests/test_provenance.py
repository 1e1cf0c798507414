"""history export: the driftdoc JSON-lines format round-trips, BugDoc's and PROV are valid."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from driftdoc.cli import main
from driftdoc.store import Store

JOB = """
import json, sys
lr, opt = float(sys.argv[1]), sys.argv[2]
open("metrics.json", "w").write(json.dumps({"lr": lr}))
sys.exit(1 if lr >= 0.1 and opt == "adam" else 0)
"""


@pytest.fixture()
def searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    (tmp_path / "job.py").write_text(JOB)
    (tmp_path / "data.csv").write_text("1,2\n")
    (tmp_path / "driftdoc.toml").write_text(
        'name = "toy"\n[parameters]\nlr = [0.01, 0.1, 0.5]\nopt = ["sgd", "adam"]\n'
        f'[pipeline]\ncommand = "{sys.executable} job.py {{lr}} {{opt}}"\n'
        'inputs = ["job.py", "data.csv"]\ntimeout = 20\n')
    monkeypatch.chdir(tmp_path)
    assert main(["debug", "driftdoc.toml", "--store", "s.db"]) == 0
    with Store(tmp_path / "s.db") as store:
        exp = store.experiments()[0]
        inst = {"lr": 0.5, "opt": "sgd"}
        store.record_error(exp.id, inst, "worker-lost", "gone", attempts=3, worker="w1")
    capsys.readouterr()
    return tmp_path, exp.name


def test_list_names_experiments_by_spec(searched: tuple[Path, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    tmp, name = searched
    assert main(["history", "list", "--store", "s.db", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["title"] == f"pipeline toy ({tmp / 'driftdoc.toml'})"
    assert rows[0]["name"] == name and rows[0]["errors"] == 1
    assert main(["history", "list", "--store", "s.db"]) == 0
    assert "pipeline toy" in capsys.readouterr().out


def test_jsonl_export_keeps_everything_and_imports_back(
        searched: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    tmp, name = searched
    assert main(["history", "export", name, "--store", "s.db", "-o", "all.jsonl"]) == 0
    lines = [json.loads(x) for x in (tmp / "all.jsonl").read_text().splitlines()]
    head, runs = lines[0], [x for x in lines if x["type"] == "run"]
    errors = [x for x in lines if x["type"] == "error"]
    assert head["format"] == "driftdoc-provenance" and head["version"] == 1
    assert head["meta"]["snapshot"] and "parameters" in head["space"]
    assert len(errors) == 1 and errors[0]["kind"] == "worker-lost" and errors[0]["attempts"] == 3
    with Store(tmp / "s.db") as store:
        recorded = store.runs()
    assert [r["id"] for r in runs] == [r.id for r in recorded]
    for line, rec in zip(runs, recorded, strict=True):  # everything history show knows
        assert line["params"] == rec.params and line["details"] == rec.outcome.details
        assert line["verdict"]["succeeded"] == rec.outcome.succeeded
        assert line["worker"] == rec.worker and line["started"] == rec.started
        assert line["snapshot"] == head["meta"]["snapshot"]
        assert set(line["inputs"]) == {"job.py", "data.csv"}
        assert line["outputs"]["metrics.json"]["sha256"]
    # the consumer: import into another store, then a search there needs no new runs
    assert main(["history", "import", "all.jsonl", "--store", "other.db"]) == 0
    with Store(tmp / "other.db") as other:
        exp = other.find_experiment(name)
        assert other.count_runs(exp.id) == len(runs) and other.count_errors(exp.id) == 1
        assert [r.outcome.details for r in other.runs(exp.id)] == [r["details"] for r in runs]
    assert main(["history", "import", "all.jsonl", "--store", "other.db"]) == 0  # idempotent
    with Store(tmp / "other.db") as other:
        assert other.count_runs(other.find_experiment(name).id) == len(runs)
    capsys.readouterr()
    assert main(["debug", "driftdoc.toml", "--store", "other.db", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == 0


def test_bugdoc_and_prov_exports(searched: tuple[Path, str]) -> None:
    prov_model = pytest.importorskip("prov.model")
    tmp, name = searched
    assert main(["history", "export", name, "--store", "s.db", "--format", "bugdoc",
                 "-o", "b.jsonl"]) == 0
    rows = [json.loads(x) for x in (tmp / "b.jsonl").read_text().splitlines()]
    assert rows and all(set(r) == {"lr", "opt", "result"} for r in rows)
    assert main(["history", "export", name, "--store", "s.db", "--format", "prov",
                 "-o", "p.json"]) == 0
    doc = prov_model.ProvDocument.deserialize(content=(tmp / "p.json").read_text(),
                                              format="json")
    records = doc.get_records()
    activities = [r for r in records if isinstance(r, prov_model.ProvActivity)]
    assert len(activities) == len(rows) + 1  # every run, and the machinery error
    used = [r for r in records if isinstance(r, prov_model.ProvUsage)]
    assert len(used) == 2 * len(rows)  # job.py and data.csv, by digest
    assert any(isinstance(r, prov_model.ProvGeneration) for r in records)


def test_bad_export_requests(searched: tuple[Path, str],
                             capsys: pytest.CaptureFixture[str]) -> None:
    _, name = searched
    assert main(["history", "export", name, "--store", "s.db", "--format", "xml"]) == 2
    assert "unknown format" in capsys.readouterr().err
    Path("bad.jsonl").write_text('{"type": "experiment", "format": "driftdoc-provenance", '
                                 '"version": 9}\n')
    assert main(["history", "import", "bad.jsonl", "--store", "x.db"]) == 2
    assert "version 9" in capsys.readouterr().err
