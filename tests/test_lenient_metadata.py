"""Old releases whose metadata today's uv refuses stay reachable (``toolchain/lenient.py``).

The class: pandas 0.18.1-0.24.2 declare ``pytz (>=2011k)``; uv skips them and falls back
to an ancient release. Here ``framefake`` plays pandas: 0.11.0 lacks ``from_items``,
0.24.2 has it but requires ``tzfake (>=2011k)``, 1.0.0 removed it again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from driftdoc.cli import main
from driftdoc.env.toolchain.installer import InstallError
from driftdoc.env.toolchain.lenient import read_leniently, refused_releases
from driftdoc.env.toolchain.resolve import resolve
from driftdoc.env.validation.failure import Kind, classify, install_reason
from driftdoc.env.validation.records import ValidationRecord
from support.fixtures import can_sandbox, driftdoc_cache, has_python  # noqa: F401
from support.index import LocalIndex
from support.schema import assert_valid
from support.wheels import make_wheel

PY = "3.11"
needs_py = pytest.mark.skipif(not has_python(PY), reason=f"needs Python {PY}")

FROM_ITEMS = ("class DataFrame(object):\n"
              "    @classmethod\n"
              "    def from_items(cls, items):\n"
              "        return dict(items)\n")


@pytest.fixture(scope="module")
def old_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("lenient-index")
    built = root / "built"
    with LocalIndex(root / "served") as index:
        index.add(make_wheel(built, "tzfake", "2016.1", {"tzfake/__init__.py": "Z = 1\n"}),
                  upload_time="2016-01-10")
        index.add(make_wheel(built, "tzfake", "2019.1", {"tzfake/__init__.py": "Z = 2\n"}),
                  upload_time="2019-01-10")
        index.add(make_wheel(built, "framefake", "0.11.0", {
            "framefake/__init__.py": "import tzfake\nclass DataFrame(object):\n    pass\n"},
            requires=["tzfake"]), upload_time="2013-04-01")
        for version, when in [("0.23.4", "2018-08-01"), ("0.24.2", "2019-03-01")]:
            index.add(make_wheel(built, "framefake", version, {
                "framefake/__init__.py": "import tzfake\n" + FROM_ITEMS},
                requires=["tzfake (>=2011k)"]), upload_time=when)
        index.add(make_wheel(built, "framefake", "1.0.0", {
            "framefake/__init__.py": "import tzfake\nclass DataFrame(object):\n    pass\n"},
            requires=["tzfake>=2016"]), upload_time="2020-01-29")
        yield index


def test_read_leniently_cuts_suffixed_versions_and_drops_the_unparsable() -> None:
    text = ("Metadata-Version: 2.1\nName: p\nVersion: 1\nRequires-Dist: pytz (>=2011k)\n"
            "Requires-Dist: ok (>=1.0)\nRequires-Dist: ??? (\nRequires-Python: >=2.7\n\nbody\n")
    reading = read_leniently(text)
    assert "Requires-Dist: pytz>=2011\n" in reading.text
    assert "Requires-Dist: ok (>=1.0)\n" in reading.text  # valid lines are kept as they are
    assert "???" not in reading.text and reading.text.endswith("\n\nbody\n")
    assert reading.changes == ["Requires-Dist 'pytz (>=2011k)' read as 'pytz>=2011'",
                               "Requires-Dist '??? (' dropped (unparsable)"]
    assert read_leniently("Name: p\nRequires-Dist: a>=1\n").changes == []


def test_refused_releases_read_from_uv_output() -> None:
    out = ("WARN `pandas==0.24.2` has invalid metadata: after parsing `2011`, found `k`\n"
           "  cause: Because Pandas==0.23.4 has invalid metadata and you require it\n"
           "hint: Metadata for `x_y` (v1.0) could not be parsed:\n")
    assert refused_releases(out) == {("pandas", "0.24.2"), ("pandas", "0.23.4"),
                                     ("x-y", "1.0")}


def test_install_failure_reason_is_the_resolvers_own_line() -> None:
    """Never ``install failed: ^^^^^^^`` (the caret under a quoted requirement)."""
    message = ("resolution failed:\nerror: No solution found when resolving dependencies\n"
               "  cause: Because pandas==0.24.2 has invalid metadata and you require "
               "pandas==0.24.2, we can conclude that your requirements are unsatisfiable.\n\n"
               "hint: Metadata for `pandas` (v0.24.2) could not be parsed:\n"
               "  pytz (>=2011k)\n        ^^^^^^^\n")
    assert install_reason(message).startswith("Because pandas==0.24.2 has invalid metadata")
    record = ValidationRecord.install_failed([InstallError("pandas==0.24.2", message)],
                                             python="3.7", pins=[], snippet="s.py")
    verdict = classify(record)
    assert verdict.category is Kind.INSTALL
    assert verdict.reason.startswith("install failed: Because pandas==0.24.2 has invalid")
    assert install_reason("ERROR: No matching distribution found for foo\n  ^^^") == \
        "No matching distribution found for foo"


@needs_py
def test_resolution_reaches_the_refused_release(old_index: LocalIndex,
                                                driftdoc_cache: Path) -> None:  # noqa: F811
    res = resolve(PY, ["framefake<1"], index_url=old_index.url)
    assert res.ok and "framefake==0.24.2" in res.pins, res
    assert res.lenient == ["framefake 0.24.2: metadata invalid for today's resolvers, read "
                           "leniently (Requires-Dist 'tzfake (>=2011k)' read as "
                           "'tzfake>=2011')"]
    dated = resolve(PY, ["framefake"], as_of=date(2018, 12, 1), index_url=old_index.url)
    assert dated.ok and "framefake==0.23.4" in dated.pins and "tzfake==2016.1" in dated.pins
    exact = resolve(PY, ["framefake==0.24.2"], index_url=old_index.url)
    assert exact.ok and exact.lenient, exact.error
    newest = resolve(PY, ["framefake"], index_url=old_index.url)  # nothing refused: no note
    assert newest.ok and "framefake==1.0.0" in newest.pins and newest.lenient == []


@needs_py
@pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")
def test_run_reaches_the_old_release_and_records_the_lenient_reading(
        tmp_path: Path, old_index: LocalIndex, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text("import framefake\n"
                       "print(framefake.DataFrame.from_items([('a', [1, 2])]))\n")
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--python", PY,
               "--index-url", old_index.url, "--store", str(tmp_path / "store.db")])
    doc = json.loads(capsys.readouterr().out)
    assert_valid(doc, "run")
    assert rc == 0 and doc["status"] == "resolved", doc
    assert "framefake==0.24.2" in doc["requirements"]
    assert doc["lenient_metadata"] and "framefake 0.24.2" in doc["lenient_metadata"][0]
    assert "'tzfake (>=2011k)' read as 'tzfake>=2011'" in doc["lenient_metadata"][0]
    assert any(d["package"] == "framefake" and d["to"] == "0.24.2" for d in doc["drift"])


@pytest.mark.network
@pytest.mark.skipif(not has_python("3.7"), reason="needs Python 3.7")
def test_pandas_of_2019_resolves_to_0_24_on_pypi(driftdoc_cache: Path) -> None:  # noqa: F811
    """Without the lenient reading uv picks pandas 0.11.0 here (0.18.1-0.24.2 refused)."""
    res = resolve("3.7", ["pandas"], as_of=date(2019, 6, 1))
    assert res.ok and "pandas==0.24.2" in res.pins, res
    assert any("pandas 0.24.2" in n and "'pytz (>=2011k)' read as 'pytz>=2011'" in n
               for n in res.lenient), res.lenient


@pytest.mark.network
@pytest.mark.skipif(not has_python("3.7"), reason="needs Python 3.7")
@pytest.mark.skipif(not can_sandbox(), reason="bubblewrap cannot run here")
def test_from_items_runs_on_a_pandas_0_2x_from_pypi(
        tmp_path: Path, driftdoc_cache: Path,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text("import pandas as pd\n"
                       "df = pd.DataFrame.from_items([('a', [1, 2]), ('b', [3, 4])])\n"
                       "print(df.shape)\n")
    # as of 2019 (the case): pandas 0.23.4/0.24.x, all refused by uv as they stand
    rc = main(["run", str(snippet), "--format", "json", "--quiet", "--python", "3.7",
               "--as-of", "2019-01-01", "--store", str(tmp_path / "store.db")])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 0 and doc["status"] == "resolved", doc.get("reason")
    pin = next(r for r in doc["requirements"] if r.lower().startswith("pandas=="))
    assert pin.split("==")[1].startswith(("0.23.", "0.24.")), pin
    assert any(n.startswith(f"pandas {pin.split('==')[1]}:") for n in doc["lenient_metadata"])


def test_dockerfile_installs_leniently_read_pins_without_their_requirements() -> None:
    from driftdoc.env.emit.files import dockerfile
    from driftdoc.env.search.result import EnvResult

    result = EnvResult(snippet="s.py", status="resolved", python="3.7",
                       requirements=["pandas==0.24.2", "pytz==2018.9"], validations=1,
                       seconds=1.0, lenient_metadata=["pandas 0.24.2: metadata invalid ..."])
    text = dockerfile(result)
    assert '"--no-deps", "pandas==0.24.2", "pytz==2018.9"' in text
    result.lenient_metadata = []
    assert "--no-deps" not in dockerfile(result)
