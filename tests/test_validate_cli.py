"""``driftdoc validate``: exit codes (0 env ok, 1 not, 2 bad input) and JSON/text output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftdoc.cli import main
from support.fixtures import *  # noqa: F403
from support.fixtures import can_sandbox, python3_version
from support.index import LocalIndex

PY3 = python3_version((3, 8))
pytestmark = [
    pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed"),
    pytest.mark.skipif(not can_sandbox(), reason="bubblewrap is missing or cannot sandbox here"),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "requirements.txt").write_text("# pinned by hand\ndrift-pkg==2.0\n")
    return tmp_path


def test_json_output_and_exit_codes(project: Path, fake_index: LocalIndex,
                                    driftdoc_cache: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert PY3 is not None
    snippet = project / "s.py"
    snippet.write_text("import driftpkg\nundefined_name\n")
    args = ["validate", str(snippet), "--python", PY3, "-r", str(project / "requirements.txt"),
            "--index-url", fake_index.url, "--format", "json", "--timeout", "20"]
    assert main(args) == 0  # NameError: the environment is fine
    doc = json.loads(capsys.readouterr().out)
    assert doc["execution"]["exception_name"] == "NameError"
    assert doc["classification"] == {"category": "snippet_error", "env_ok": True,
                                     "responsible": None, "reason": doc["classification"]["reason"]}
    snippet.write_text("import driftpkg.old\n")
    assert main(args) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["classification"]["category"] == "import_error"
    assert doc["pins"] == ["drift-pkg==2.0"]


def test_text_output(project: Path, fake_index: LocalIndex, driftdoc_cache: Path,
                     capsys: pytest.CaptureFixture[str]) -> None:
    assert PY3 is not None
    snippet = project / "s.py"
    snippet.write_text("import driftpkg\ndriftpkg.compute(1)\n")
    code = main(["validate", str(snippet), "--python", PY3, "-r",
                 str(project / "requirements.txt"), "--index-url", fake_index.url])
    assert code == 1
    text = capsys.readouterr().out
    assert "environment FAILED" in text and "drift-pkg" in text and "AttributeError" in text


@pytest.mark.parametrize("args", [
    ["validate", "missing.py", "--python", "3.8"],
    ["validate", "{snippet}", "--python", "banana"],
    ["validate", "{snippet}", "--python", "3.8", "-r", "nope.txt"],
    ["validate", "{snippet}", "--python", "3.8", "--format", "xml"],
    ["validate", "{snippet}", "--python", "3.8", "--as-of", "yesterday"],
])
def test_bad_input_exits_2(args: list[str], project: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    snippet = project / "ok.py"
    snippet.write_text("print(1)\n")
    assert main([a.replace("{snippet}", str(snippet)) for a in args]) == 2
    assert "error:" in capsys.readouterr().err
