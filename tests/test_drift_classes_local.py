"""Issue 17's drift classes, end to end through ``driftdoc run`` on tiny local wheels.

The rule tests (test_rule_backend_era.py, test_rule_drift_report.py) check the search over a
fake world; these check the same classes as a user meets them: real wheels on a local index
with upload dates, installed and run in the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftdoc.cli import main
from support.fixtures import can_sandbox, driftdoc_cache, python3_version  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid
from support.wheels import make_wheel

PY3 = python3_version((3, 8))
pytestmark = [pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here"),
              pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")]

# Keras 2.2 imports its backend at import time and uses the 1.x API; nothing declares it.
KERAS = {"kerasfake/__init__.py": "import tensorflowfake\n"
                                  "graph = tensorflowfake.get_default_graph()\n"}
TF1 = {"tensorflowfake/__init__.py": "def get_default_graph():\n    return 'graph'\n"}
TF2 = {"tensorflowfake/__init__.py": "def function(f):\n    return f\n"}

# Only Sphinx before 1.5 has the API the snippet calls; the error names no module, so the
# repair is a move of everything to an earlier date, which also changes the helper.
SPHINX_OLD = {"sphinxlike/__init__.py": "class Builder(object):\n"
                                        "    def add_stub(self):\n        return 'stub'\n"
                                        "def make():\n    return Builder()\n"}
SPHINX_NEW = {"sphinxlike/__init__.py": "class Builder(object):\n    pass\n"
                                        "def make():\n    return Builder()\n"}
HELPER = {"helperlike/__init__.py": "VALUE = 1\n"}


def run(tmp_path: Path, index: LocalIndex, source: str,
        capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(source)
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--index-url", index.url,
               "--python", PY3 or "", "--store", str(tmp_path / "store.db")])
    doc = json.loads(capsys.readouterr().out)
    assert_valid(doc, "run")
    return rc, doc


@pytest.fixture(scope="module")
def keras_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("keras-index")
    with LocalIndex(root / "served") as index:
        index.add(make_wheel(root / "b", "kerasfake", "2.2.4", KERAS), upload_time="2018-10-03")
        index.add(make_wheel(root / "b", "tensorflowfake", "1.12.0", TF1),
                  upload_time="2018-11-05")
        index.add(make_wheel(root / "b", "tensorflowfake", "2.9.0", TF2),
                  upload_time="2022-05-16")
        yield index


def test_a_framework_without_its_backend_gets_the_backend_of_its_era(
        tmp_path: Path, keras_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(tmp_path, keras_index, "import kerasfake\nprint(kerasfake.graph)\n", capsys)
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    # ground truth: only tensorflowfake 1.x has get_default_graph; 2.9 (today's) breaks it
    assert "tensorflowfake==1.12.0" in doc["requirements"]
    assert "kerasfake==2.2.4" in doc["requirements"]


@pytest.fixture(scope="module")
def sphinx_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("sphinx-index")
    with LocalIndex(root / "served") as index:
        index.add(make_wheel(root / "b", "sphinxlike", "1.4.9", SPHINX_OLD),
                  upload_time="2016-11-01")
        index.add(make_wheel(root / "b", "sphinxlike", "1.8.5", SPHINX_NEW),
                  upload_time="2019-03-01")
        index.add(make_wheel(root / "b", "helperlike", "1.0", HELPER), upload_time="2015-01-01")
        index.add(make_wheel(root / "b", "helperlike", "2.0", HELPER), upload_time="2020-01-01")
        yield index


def test_every_version_a_kept_move_changed_is_reported_as_drift(
        tmp_path: Path, sphinx_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    rc, doc = run(tmp_path, sphinx_index, "import sphinxlike\nimport helperlike\n"
                  "print(sphinxlike.make().add_stub(), helperlike.VALUE)\n", capsys)
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    assert "sphinxlike==1.4.9" in doc["requirements"]
    pins = dict(r.split("==") for r in doc["requirements"])
    drift = {(d["package"], d["from"], d["to"]) for d in doc["drift"]}
    assert ("sphinxlike", "1.8.5", "1.4.9") in drift
    # every pin that is not the release the run started from is reported, with its fix
    started = {"sphinxlike": "1.8.5", "helperlike": "2.0"}
    moved = {(p, started[p], v) for p, v in pins.items() if p in started and started[p] != v}
    assert moved == drift
    assert all(d["fixed"]["exception_name"] == "AttributeError" for d in doc["drift"])
    # the era move took the helper back too (1.0 is the release of Sphinx 1.4's time)
    assert drift == {("sphinxlike", "1.8.5", "1.4.9"), ("helperlike", "2.0", "1.0")}


def test_a_latin1_file_without_a_coding_line_is_never_resolved_on_27(
        tmp_path: Path, sphinx_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    """Python 2 refuses a non-ASCII byte without a coding line; the print statement rules
    out Python 3. No interpreter runs this file as it stands, so nothing may be resolved."""
    snippet = tmp_path / "snippet.py"
    snippet.write_bytes(b"import helperlike\nprint 'caf\xe9', helperlike.VALUE\n")
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--index-url",
               sphinx_index.url, "--store", str(tmp_path / "store.db")])
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] != "resolved", doc
    assert rc != 0
    assert doc["classification"] == "syntax-error"
    assert "Non-ASCII character" in doc["reason"]  # what 2.7 itself says of these bytes
