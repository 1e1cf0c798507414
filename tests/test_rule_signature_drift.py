"""Signature drift: a TypeError or AttributeError raised on the snippet's own line, at a call
into a package (a loader that became a mandatory argument, a method that went away), is
blamed on that package and moved to an older release, instead of "not repairable"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftdoc.cli import main
from driftdoc.env.toolchain.build import BuiltEnv, ensure_env
from driftdoc.env.validation.failure import Kind, classify, verdict_fields
from driftdoc.env.validation.validate import validate
from support.fixtures import can_sandbox, driftdoc_cache, python3_version  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid
from support.wheels import make_wheel

PY3 = python3_version((3, 8))
pytestmark = [pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here"),
              pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")]

V1 = {"yamlish/__init__.py": "def load(stream, Loader=None):\n    return stream.upper()\n"
                             "class Frame(object):\n    def ix(self, i):\n        return i\n"}
V2 = {"yamlish/__init__.py": "def load(stream, Loader):\n    return stream.upper()\n"
                             "class Frame(object):\n    def iloc(self, i):\n        return i\n"}
LOADER = "import yamlish\nprint(yamlish.load('abc'))\n"
ALIASED = "from yamlish import load as parse\nprint(parse('abc'))\n"
METHOD = "import yamlish\nframe = yamlish.Frame()\nprint(frame.ix(3))\n"
OWN_BUG = "import yamlish\ndef mine(x):\n    return x\nprint(mine())\n"


@pytest.fixture(scope="module")
def sig_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("sig-index")
    with LocalIndex(root / "served") as index:
        index.add(make_wheel(root / "built", "yamlish", "1.0", V1), upload_time="2017-01-01")
        index.add(make_wheel(root / "built", "yamlish", "2.0", V2), upload_time="2021-01-01")
        yield index


@pytest.fixture(scope="module")
def env_v2(sig_index: LocalIndex, driftdoc_cache: Path) -> BuiltEnv:  # noqa: F811
    assert PY3 is not None
    env = ensure_env(PY3, ["yamlish==2.0"], index_url=sig_index.url)
    assert env.ok, env.install_errors
    return env


@pytest.mark.parametrize(("source", "exception"), [(LOADER, "TypeError"),
                                                   (ALIASED, "TypeError"),
                                                   (METHOD, "AttributeError")])
def test_the_called_package_is_named(tmp_path: Path, env_v2: BuiltEnv, source: str,
                                     exception: str) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(source)
    rec = validate(snippet, env_v2)
    ex = rec.execution
    assert ex.exception_name == exception and not ex.raised_in_package
    assert (ex.called_module, ex.called_distribution) == ("yamlish", "yamlish")
    cls = classify(rec)
    fields = verdict_fields(rec, cls, snippet)
    assert fields["responsible"] == "yamlish"
    assert fields["evidence"] == "the package the failing line calls"
    assert fields["kind"] in (Kind.DRIFT, Kind.SNIPPET_ATTR)


def test_the_snippets_own_function_is_not_a_package(tmp_path: Path, env_v2: BuiltEnv) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(OWN_BUG)
    rec = validate(snippet, env_v2)
    assert rec.execution.exception_name == "TypeError"
    assert rec.execution.called_module is None
    assert classify(rec).category is Kind.SNIPPET


@pytest.mark.parametrize("source", [LOADER, METHOD])
def test_run_moves_the_called_package_and_reports_the_drift(
        tmp_path: Path, sig_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str], source: str) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(source)
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--index-url",
               sig_index.url, "--python", PY3 or "", "--store", str(tmp_path / "store.db")])
    doc = json.loads(capsys.readouterr().out)
    assert_valid(doc, "run")
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    assert "yamlish==1.0" in doc["requirements"]
    assert [(d["package"], d["from"], d["to"]) for d in doc["drift"]] == \
        [("yamlish", "2.0", "1.0")]


@pytest.mark.network
def test_pyyaml_load_without_a_loader_gets_the_release_before_6(
        tmp_path: Path, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    """PyYAML 6 made ``Loader`` mandatory: the TypeError is raised on the snippet's line."""
    snippet = tmp_path / "snippet.py"
    snippet.write_text("import yaml\nprint(yaml.load('a: 1'))\n")
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--python", "3.8",
               "--store", str(tmp_path / "store.db")])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    pin = next(r for r in doc["requirements"] if r.lower().startswith("pyyaml=="))
    assert int(pin.split("==")[1].split(".")[0]) < 6
    assert any(d["package"].lower() == "pyyaml" and d["fixed"]["exception_name"] == "TypeError"
               for d in doc["drift"])
