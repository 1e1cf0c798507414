"""``driftdoc debug`` and ``driftdoc history`` from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from driftdoc.cli import main
from driftdoc.store import Store
from support.schema import assert_valid

ORACLE = '''
def check(cfg):
    return not (cfg["lr"] >= 0.1 and cfg["optimizer"] == "adam")

def explode(cfg):
    raise ValueError("cannot open config.yaml")
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "space.json").write_text(json.dumps(
        {"lr": [0.001, 0.01, 0.1, 1.0], "optimizer": ["adam", "sgd"], "seed": [1, 2, 3]}))
    (tmp_path / "myoracle.py").write_text(ORACLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("myoracle", None)


def test_debug_json_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["debug", "space.json", "--oracle", "myoracle:check", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert_valid(data, "debug")
    assert rc == 0
    assert data["causes"] == [[["lr", ">=", 0.1], ["optimizer", "==", "adam"]]]
    assert data["text"] == ["lr >= 0.1 AND optimizer == adam"]
    assert data["runs"] > 0 and (project / ".driftdoc" / "store.db").exists()


def test_history_list_show_export_import(project: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", "space.json", "--oracle", "myoracle:check"]) == 0
    capsys.readouterr()
    assert main(["history", "list", "--format", "json"]) == 0
    exps = json.loads(capsys.readouterr().out)
    assert len(exps) == 1 and exps[0]["runs"] > 0
    name = exps[0]["name"]
    assert main(["history", "show", "1", "--format", "json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert set(run["params"]) == {"lr", "optimizer", "seed"} and "succeeded" in run
    assert main(["history", "show", "1"]) == 0
    assert "[bold]" not in capsys.readouterr().out
    assert main(["history", "export", name, "--format", "bugdoc", "-o", "runs.jsonl"]) == 0
    lines = (project / "runs.jsonl").read_text().splitlines()
    assert len(lines) == exps[0]["runs"] and "result" in json.loads(lines[0])
    assert main(["history", "import", "runs.jsonl", "--experiment", "copy",
                 "--space", "space.json"]) == 0
    # a search seeded with the imported history runs no new configuration, only the
    # re-runs that check the verdicts its causes rest on
    capsys.readouterr()
    assert main(["debug", "space.json", "--oracle", "myoracle:check", "--experiment", "copy",
                 "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runs"] == data["reruns"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["debug", "missing.json", "--oracle", "myoracle:check"], "does not exist"),
    (["debug", "space.json"], "needs --oracle"),
    (["debug", "space.json", "--oracle", "nomodule:check"], "cannot import"),
    (["debug", "space.json", "--oracle", "myoracle:nothing"], "no callable"),
    (["debug", "space.json", "--oracle", "myoracle:check", "--mode", "some"], "unknown mode"),
    (["debug", "space.json", "--oracle", "myoracle:check", "--budget", "-3"], "budget"),
    (["debug", "bad.json", "--oracle", "myoracle:check"], "empty value list"),
    (["debug", "dupes.json", "--oracle", "myoracle:check"], "twice"),
    (["debug", "space.json", "--oracle", "myoracle:check", "--history", "h.jsonl"],
     "unknown parameter 'momentum'"),
])
def test_bad_input_one_line_exit_2(project: Path, capsys: pytest.CaptureFixture[str],
                                   args: list[str], message: str) -> None:
    (project / "bad.json").write_text(json.dumps({"lr": []}))
    (project / "dupes.json").write_text(json.dumps({"lr": [0.1, 0.1]}))
    (project / "h.jsonl").write_text(json.dumps({"lr": 0.1, "optimizer": "adam", "seed": 1,
                                                 "momentum": 0.9, "result": False}) + "\n")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "Traceback" not in err and len(err.splitlines()) == 1


def test_raising_oracle_is_one_line_and_store_stays_consistent(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["debug", "space.json", "--oracle", "myoracle:explode"])
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert rc != 0 and len(errors) == 1 and "ValueError: cannot open config.yaml" in errors[0]
    assert "Traceback" not in err
    with Store(project / ".driftdoc" / "store.db") as store:
        assert store.runs() == []  # nothing half-written
