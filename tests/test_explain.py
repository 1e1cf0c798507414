"""``driftdoc explain``: the version boundary where behaviour changes, with evidence on
each side; releases that do not install are unknown, never failures. Ground truth is
planted in tiny wheels: ``skfake.cross_validation`` exists up to 0.19.x and is gone from
0.20.0 on; ``skfake.newer`` appears in 0.19.0; 0.22.0 cannot be installed at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import driftdoc
from driftdoc.cli import main
from driftdoc.store import Store
from support.browser import check_report
from support.fixtures import can_sandbox, driftdoc_cache  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid
from support.wheels import make_wheel

pytestmark = pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")

RELEASES = [("0.17.1", "2016-01-01"), ("0.18.2", "2016-09-01"), ("0.19.0", "2017-06-01"),
            ("0.19.2", "2017-08-01"), ("0.20.0", "2018-09-01"), ("0.20.4", "2019-06-01"),
            ("0.21.3", "2019-09-01")]


def _files(version: str) -> dict[str, str]:
    v = tuple(int(p) for p in version.split("."))
    files = {"skfake/__init__.py": f"__version__ = '{version}'\n"}
    if v < (0, 20):
        files["skfake/cross_validation.py"] = "def split(xs):\n    return xs[:1], xs[1:]\n"
    if v >= (0, 19):
        files["skfake/newer.py"] = "FEATURE = 1\n"
    return files


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("explain-index")
    built = root / "built"
    with LocalIndex(root / "served") as idx:
        for version, when in RELEASES:
            idx.add(make_wheel(built, "skfake", version, _files(version)), upload_time=when)
        # newest release needs a distribution no index has: it never installs
        idx.add(make_wheel(built, "skfake", "0.22.0", _files("0.22.0"),
                           requires=["no-such-dependency-anywhere"]), upload_time="2020-01-01")
        idx.add(make_wheel(built, "sixfake", "1.12.0", {"sixfake.py": "PY2 = False\n"}),
                upload_time="2018-12-01")
        yield idx


def test_newer_releases_break_it(index: LocalIndex, tmp_path: Path,
                                 driftdoc_cache: Path) -> None:  # noqa: F811
    snippet = tmp_path / "snippet.py"
    snippet.write_text("import sixfake\nfrom skfake.cross_validation import split\n"
                       "print(split([1, 2]), sixfake.PY2)\n")
    with Store(tmp_path / "s.db") as store:
        found = driftdoc.explain(snippet, index_url=index.url, store=store)
    assert found.status == "explained", found.message
    assert found.text() == ["skfake >= 0.20.0"]
    (b,) = found.boundaries
    assert [p.version for p in b.fails] == ["0.20.0", "0.20.4", "0.21.3"]
    assert [p.version for p in b.passes] == ["0.19.2"]  # the working environment
    assert [p.version for p in b.unknown] == ["0.22.0"]  # not a failure of the snippet
    assert b.unknown[0].result == "install-failure"
    assert all(p.outcome != "fail" for p in found.probes if p.version == "0.22.0")
    # a bisection, not a sweep: far end, one rung, one patch (plus the unknown one)
    assert found.validations <= 6
    doc = found.to_json()
    assert_valid(doc, "explain")
    assert doc["causes"] == [[["skfake", ">=", "0.20.0"]]]


def test_older_and_newer_boundaries_and_the_cli(index: LocalIndex, tmp_path: Path,
                                                driftdoc_cache: Path,  # noqa: F811
                                                capsys: pytest.CaptureFixture[str]) -> None:
    snippet = tmp_path / "both.py"
    snippet.write_text("from skfake.cross_validation import split\nfrom skfake.newer import "
                       "FEATURE\nprint(split([1, 2]), FEATURE)\n")
    out = tmp_path / "out"
    rc = main(["explain", str(snippet), "--format", "json", "--index-url", index.url,
               "--store", str(tmp_path / "s.db"), "--output", str(out), "-q"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0, doc
    assert_valid(doc, "explain")
    assert sorted(doc["text"]) == ["skfake < 0.19.0", "skfake >= 0.20.0"]
    older = next(b for b in doc["boundaries"] if b["op"] == "<")
    assert {p["version"] for p in older["fails"]} >= {"0.18.2"}
    assert {p["version"] for p in older["passes"]} >= {"0.19.0"}
    assert json.loads((out / "explanation.json").read_text()) == doc
    check_report(out / "report.html", [
        "driftdoc explain: both.py", "Behaviour changes at skfake >= 0.20.0",
        "Behaviour changes at skfake < 0.19.0", "0.22.0", "unknown",
        "they do not install here, so they are not counted as failures"])


def test_api_results_are_the_cli_documents(index: LocalIndex, tmp_path: Path,
                                           driftdoc_cache: Path,  # noqa: F811
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """driftdoc.run / validate return what run / validate print with --format json."""
    snippet = tmp_path / "api.py"
    snippet.write_text("from skfake.cross_validation import split\nprint(split([1, 2]))\n")
    with Store(tmp_path / "s.db") as store:
        result = driftdoc.infer(snippet, index_url=index.url, store=store)
    assert result.resolved and "skfake==0.19.2" in result.requirements
    assert_valid(result.to_json(), "run")
    assert main(["run", str(snippet), "--format", "json", "-q", "--index-url", index.url,
                 "--store", str(tmp_path / "s.db")]) == 0
    printed = json.loads(capsys.readouterr().out)
    for key in ("status", "python", "requirements", "drift", "classification", "direct"):
        assert printed[key] == result.to_json()[key], key
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("skfake==0.20.0 \\\n    --hash=sha256:0000\n")
    check = driftdoc.validate(snippet, str(result.python), requirement_files=[reqs],
                              index_url=index.url)
    assert not check.env_ok and check.classification.category.value == "import-error"
    assert_valid(check.to_json(), "validate")
    assert main(["validate", str(snippet), "-p", str(result.python), "-r", str(reqs),
                 "--index-url", index.url, "--format", "json"]) == 1
    cli = json.loads(capsys.readouterr().out)
    assert cli["classification"] == check.to_json()["classification"]
    assert cli["pins"] == check.to_json()["pins"] == ["skfake==0.20.0"]
