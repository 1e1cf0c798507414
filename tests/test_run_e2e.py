"""``driftdoc run`` end to end, hermetic: V2's seed scenarios in miniature.

Tiny wheels with several versions are served from a loopback index; every
environment is really resolved, built and run in the sandbox.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftdoc.cli import main
from support.browser import check_report
from support.fixtures import can_sandbox, driftdoc_cache, has_python  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid
from support.wheels import make_wheel

pytestmark = pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")


def _skfake(version: str, with_cv: bool) -> dict[str, str]:
    files = {"skfake/__init__.py": f"__version__ = '{version}'\n"}
    if with_cv:
        files["skfake/cross_validation.py"] = "def split(xs):\n    return xs[:1], xs[1:]\n"
    return files


@pytest.fixture(scope="module")
def drift_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    """skfake drops a submodule in 0.20; kerasfake 2 needs another backend and API."""
    root = tmp_path_factory.mktemp("drift-index")
    built = root / "built"
    with LocalIndex(root / "served") as index:
        for version, when, cv in [("0.18.0", "2016-09-01", True), ("0.19.2", "2017-08-01", True),
                                  ("0.20.0", "2018-09-01", False),
                                  ("0.21.0", "2019-05-01", False)]:
            index.add(make_wheel(built, "skfake", version, _skfake(version, cv)),
                      upload_time=when)
        index.add(make_wheel(built, "kerasfake", "1.2.2", {
            "kerasfake/__init__.py": "import theanofake\nclass Convolution2D(object):\n"
                                     "    def __init__(self, n):\n        self.n = n\n"}),
            upload_time="2017-01-01")
        index.add(make_wheel(built, "kerasfake", "2.2.4", {
            "kerasfake/__init__.py": "import tensorflowfake\nclass Conv2D(object):\n"
                                     "    def __init__(self, n):\n        self.n = n\n"}),
            upload_time="2018-10-01")
        index.add(make_wheel(built, "theanofake", "0.8.2", {"theanofake/__init__.py": "T = 1\n"}),
                  upload_time="2016-03-01")
        index.add(make_wheel(built, "tensorflowfake", "1.12.0",
                             {"tensorflowfake/__init__.py": "TF = 1\n"}), upload_time="2018-11-01")
        index.add(make_wheel(built, "sixfake", "1.12.0", {"sixfake.py": "PY2 = True\n"}),
                  upload_time="2018-12-01")
        yield index


def run_json(snippet: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str],
             *extra: str) -> tuple[int, dict[str, object]]:
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--index-url", index.url,
               "--store", str(snippet.parent / "store.db"), *extra])
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert_valid(doc, "run")
    return rc, doc


def write(tmp_path: Path, text: str, name: str = "snippet.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_removed_submodule_needs_older_minor(tmp_path: Path, drift_index: LocalIndex,
                                             driftdoc_cache: Path,  # noqa: F811
                                             capsys: pytest.CaptureFixture[str]) -> None:
    snippet = write(tmp_path, "from skfake.cross_validation import split\n"
                              "print(split([1, 2, 3]))\n")
    rc, data = run_json(snippet, drift_index, capsys)
    assert rc == 0 and data["status"] == "resolved", data["reason"]
    assert "skfake==0.19.2" in data["requirements"]  # the newest release that still has it
    drift = data["drift"]
    assert isinstance(drift, list) and len(drift) == 1
    assert drift[0]["package"] == "skfake" and drift[0]["from"] == "0.21.0"
    assert drift[0]["to"] == "0.19.2"
    assert drift[0]["fixed"]["exception_name"] == "ModuleNotFoundError"
    assert drift[0]["fixed"]["line"] == 1
    assert isinstance(data["final"], dict) and data["final"]["status_code"] == "Success"


def test_older_major_plus_backend(tmp_path: Path, drift_index: LocalIndex,
                                  driftdoc_cache: Path,  # noqa: F811
                                  capsys: pytest.CaptureFixture[str]) -> None:
    snippet = write(tmp_path, "import kerasfake\nlayer = kerasfake.Convolution2D(3)\n"
                              "print(layer.n)\n")
    rc, data = run_json(snippet, drift_index, capsys)
    assert rc == 0 and data["status"] == "resolved", data["steps"]
    reqs = data["requirements"]
    assert isinstance(reqs, list)
    assert "kerasfake==1.2.2" in reqs and any(r.startswith("theanofake==") for r in reqs)
    assert any(d["package"] == "kerasfake" and d["to"] == "1.2.2" for d in data["drift"])


def test_name_error_is_unresolved_but_drift_is_reported(
        tmp_path: Path, drift_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    snippet = write(tmp_path, "from skfake.cross_validation import split\n"
                              "X = [x[1] for x in labeled_sample]\n")
    rc, data = run_json(snippet, drift_index, capsys)
    assert rc == 1 and data["status"] == "unresolved"
    assert "NameError" in str(data["reason"]) and "line 2" in str(data["reason"])
    assert [d["to"] for d in data["drift"]] == ["0.19.2"]
    assert "skfake==0.19.2" in data["requirements"]  # working up to that point
    assert data["final"]["execution"]["exception_name"] == "NameError"


@pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 interpreter here")
def test_python2_only_snippet(tmp_path: Path, drift_index: LocalIndex,
                              driftdoc_cache: Path,  # noqa: F811
                              capsys: pytest.CaptureFixture[str]) -> None:
    snippet = write(tmp_path, "import sixfake\nprint 'py2 only', sixfake.PY2\n")
    rc, data = run_json(snippet, drift_index, capsys)
    assert rc == 0 and data["status"] == "resolved", data["reason"]
    assert data["python"] == "2.7"
    assert "sixfake==1.12.0" in data["requirements"]


def test_outputs_dockerfile_requirements_pylock(tmp_path: Path, drift_index: LocalIndex,
                                                driftdoc_cache: Path,  # noqa: F811
                                                capsys: pytest.CaptureFixture[str]) -> None:
    snippet = write(tmp_path, "from skfake.cross_validation import split\n")
    out_dir = tmp_path / "out"
    rc = main(["run", str(snippet), "--quiet", "--index-url", drift_index.url,
               "--store", str(tmp_path / "s.db"), "--output", str(out_dir)])
    docker = capsys.readouterr().out
    assert rc == 0
    assert docker.splitlines()[2].startswith("FROM python:3.")
    assert 'RUN ["pip", "install", "--no-cache-dir", "skfake==0.19.2"]' in docker
    assert docker.rstrip().endswith('CMD ["python", "/app/snippet.py"]')
    assert "skfake==0.19.2" in (out_dir / "requirements.txt").read_text()
    lock = (out_dir / "pylock.toml").read_text()
    assert 'lock-version = "1.0"' in lock and 'name = "skfake"' in lock
    written = json.loads((out_dir / "driftdoc.json").read_text())
    assert_valid(written, "run")
    assert written["status"] == "resolved"
    drift = written["drift"][0]
    check_report(out_dir / "report.html", [
        "driftdoc run: snippet.py", "resolved", f"Python {written['python']}",
        f"skfake {drift['from']} → {drift['to']}", "Validation 1: start",
        f"Search timeline ({len(written['steps'])} validations)"])


def test_rerun_reuses_validations(tmp_path: Path, drift_index: LocalIndex,
                                  driftdoc_cache: Path,  # noqa: F811
                                  capsys: pytest.CaptureFixture[str]) -> None:
    snippet = write(tmp_path, "from skfake.cross_validation import split\n")
    run_json(snippet, drift_index, capsys)
    from driftdoc.store import Store

    with Store(tmp_path / "store.db") as store:
        before = len(store.runs())
    rc, _data = run_json(snippet, drift_index, capsys)
    with Store(tmp_path / "store.db") as store:
        after = len(store.runs())
    assert rc == 0 and after == before  # every validation answered from the store


@pytest.mark.parametrize("case", ["missing", "directory", "binary", "python"])
def test_bad_input_exits_2(case: str, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run"]
    if case == "missing":
        args.append(str(tmp_path / "nope.py"))
    elif case == "directory":
        (tmp_path / "empty").mkdir()
        args.append(str(tmp_path / "empty"))
    elif case == "binary":
        path = tmp_path / "blob.py"
        path.write_bytes(b"\x00\x01\x02\xff" * 64)
        args.append(str(path))
    else:
        args += [str(write(tmp_path, "print(1)\n")), "--python", "1.9"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_explain_finds_the_planted_version_predicate(
        tmp_path: Path, drift_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    snippet = write(tmp_path, "import sixfake\nfrom skfake.cross_validation import split\n"
                              "print(split([1, 2]), sixfake.PY2)\n")
    rc = main(["explain", str(snippet), "--format", "json", "--index-url", drift_index.url,
               "--store", str(tmp_path / "store.db"), "--explain-budget", "20"])
    data = json.loads(capsys.readouterr().out)
    assert_valid(data, "explain")
    assert rc == 0
    assert data["causes"] == [[["skfake", ">=", "0.20.0"]]]
    assert data["text"] == ["skfake >= 0.20.0"] and 0 < data["validations"] <= 20
    (boundary,) = data["boundaries"]
    assert [p["version"] for p in boundary["fails"]] == ["0.20.0", "0.21.0"]
    assert [p["version"] for p in boundary["passes"]] == ["0.19.2"]
