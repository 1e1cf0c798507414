"""HTML reports: self-contained, escaped, and rendered by the system's headless Chromium
with the network cut (the page makes no request and still shows its key facts)."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftdoc.cli import main
from driftdoc.report import render_batch, render_debug, render_run
from support.browser import check_report
from support.schema import assert_valid

RUN = {
    "kind": "run", "schema_version": 1, "snippet": "/gists/[demo]<x>.py", "status": "resolved",
    "python": "3.7", "requirements": ["scikit-learn==0.19.2", "numpy==1.16.6", "scipy==1.2.3"],
    "validations": 3, "seconds": 41.5,
    "drift": [{"package": "scikit-learn", "from": "0.21.3", "to": "0.19.2", "move": "older",
               "fixed": {"exception_name": "ModuleNotFoundError",
                         "exception_message": "No module named 'sklearn.cross_validation'",
                         "line": 3}}],
    "final": None, "reason": None, "classification": "success",
    "direct": ["scikit-learn==0.19.2"],
    "steps": [
        {"move": "start", "why": "the first plan", "python": "3.8", "as_of": None,
         "requirements": ["scikit-learn"], "result": "import-error",
         "detail": "ModuleNotFoundError at line 3: No module named 'sklearn.cross_validation'",
         "kept": True},
        {"move": "older", "why": "older scikit-learn (0.20.4): <script>alert(1)</script>",
         "python": "3.8", "as_of": None, "requirements": ["scikit-learn==0.20.4"],
         "result": "import-error", "detail": "ModuleNotFoundError at line 3", "kept": False},
        {"move": "bisect", "why": "bisect scikit-learn over 4 older releases",
         "python": "3.7", "as_of": None, "requirements": ["scikit-learn==0.19.2"],
         "result": "success", "detail": "success", "kept": True}],
    "caveats": [], "system_packages": [], "build_constraints": [],
}


def test_run_report_is_a_timeline(tmp_path: Path) -> None:
    assert_valid(RUN, "run")
    path = tmp_path / "report.html"
    path.write_text(render_run(RUN), encoding="utf-8")
    text = check_report(path, [
        "driftdoc run: [demo]<x>.py", "resolved", "scikit-learn 0.21.3 → 0.19.2",
        "fixed ModuleNotFoundError at line 3", "Search timeline (3 validations)",
        "Validation 1: start", "Validation 2: older", "Validation 3: bisect",
        "older scikit-learn (0.20.4): <script>alert(1)</script>", "not kept",
        "scikit-learn==0.19.2"])
    assert text.index("Validation 1") < text.index("Validation 2") < text.index("Validation 3")


def test_batch_report(tmp_path: Path) -> None:
    results = {f"g{i}": {**RUN, "snippet": f"g{i}.py", "seconds": float(i)} for i in range(7)}
    results["g5"] = {**results["g5"], "status": "unresolved", "classification": "import-error",
                     "reason": "gave up after 24 validation(s)"}
    results["g6"] = {**results["g6"], "status": "unresolved", "classification": "platform"}
    path = tmp_path / "report.html"
    path.write_text(render_batch("gists", results, {"g0": "snippets/g0/report.html"}),
                    encoding="utf-8")
    check_report(path, ["driftdoc batch: gists", "5/7", "71.4 % pass rate", "Classes",
                      "import-error", "platform", "Time per snippet", "gave up after 24"])
    html = path.read_text(encoding="utf-8")
    assert '<a href="snippets/g0/report.html">g0</a>' in html


ORACLE = """
def check(cfg):
    return not (cfg["lr"] >= 0.1 and cfg["optimizer"] == "adam")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "space.json").write_text(json.dumps(
        {"lr": [0.001, 0.01, 0.1, 1.0], "optimizer": ["adam", "sgd"], "seed": [1, 2]}))
    (tmp_path / "reportoracle.py").write_text(ORACLE)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("reportoracle", None)


def test_debug_report(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", "space.json", "--oracle", "reportoracle:check", "--format", "json",
                 "--report", "debug.html"]) == 0
    captured = capsys.readouterr()
    assert "report: debug.html" in captured.err
    summary = json.loads(captured.out)
    coverage = [summary["coverage"]["text"]] if summary.get("coverage") else []
    text = check_report(project / "debug.html", [
        "Root causes of failure", "Cause 1: lr >= 0.1 AND optimizer == adam",
        "none that succeeded", "Decision tree over the recorded runs", "all recorded runs",
        *coverage])
    fails = re.search(r"(\d+) failing run\(s\) satisfy it", text)
    assert fails and int(fails.group(1)) >= 1


def test_debug_report_folder_must_exist(project: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["debug", "space.json", "--oracle", "reportoracle:check",
                 "--report", "nowhere/debug.html"]) == 2
    assert "folder does not exist" in capsys.readouterr().err


def test_debug_report_numbers_match_the_store(project: Path) -> None:
    """The counts in the report are the store's: every failing run of the cause is listed."""
    from driftdoc.store import Store

    assert main(["debug", "space.json", "--oracle", "reportoracle:check",
                 "--report", "debug.html", "--store", "s.db"]) == 0
    with Store(project / "s.db") as store:
        runs = store.runs()
    failing = [r for r in runs if not r.outcome.succeeded]
    html = (project / "debug.html").read_text(encoding="utf-8")
    assert f"{len(failing)} failing run(s) satisfy it" in html
    assert f"All runs ({len(runs)})" in html


def test_reports_escape_everything() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    doc: dict[str, Any] = {**RUN, "snippet": hostile, "reason": hostile,
                           "caveats": [hostile], "requirements": [hostile]}
    for html in (render_run(doc), render_batch(hostile, {hostile: doc}),
                 render_debug(hostile, {"status": "found", "causes": [[["a", "==", hostile]]],
                                        "text": [hostile]},
                              {"a": [hostile, "b"]},
                              [{"id": 1, "params": {"a": hostile}, "succeeded": False,
                                "message": hostile}])):
        assert hostile not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
