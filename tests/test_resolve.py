"""resolve(): uv path and 2.7 path against the loopback index; caching; failure reporting."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from driftdoc.env.toolchain.resolve import resolve
from driftdoc.errors import InputError
from support.fixtures import *  # noqa: F403
from support.fixtures import has_python, python3_version
from support.index import LocalIndex
from support.wheels import make_sdist

PY3 = python3_version((3, 8))
needs_py3 = pytest.mark.skipif(PY3 is None, reason="no Python >= 3.8 installed")
needs_py27 = pytest.mark.skipif(not has_python("2.7"), reason="no Python 2.7 installed")


@needs_py3
def test_latest_and_transitive(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    res = resolve(PY3, ["helper-pkg"], index_url=fake_index.url)
    assert res.ok, res.error
    assert res.pins == ["drift-pkg==2.0", "helper-pkg==1.0"]
    assert res.backtracked == []


@needs_py3
def test_as_of_excludes_newer_uploads(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    res = resolve(PY3, ["drift-pkg"], as_of=date(2019, 6, 1), index_url=fake_index.url)
    assert res.ok and res.pins == ["drift-pkg==1.0"]
    assert res.as_of is not None and res.as_of.startswith("2019-06-01")


@needs_py3
def test_project_published_after_the_date_takes_its_first_releases(
        fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    # drift-pkg reached the index in 2018 (1.0) and 2021 (2.0): as of 2017 a plain date filter
    # hides it entirely; its first upload window (1.0, not 2.0) stands in for "of its time".
    assert PY3 is not None
    res = resolve(PY3, ["drift-pkg"], as_of=date(2017, 6, 1), index_url=fake_index.url)
    assert res.ok, res.error
    assert res.pins == ["drift-pkg==1.0"]
    assert any("first published after the cut-off" in w and "drift-pkg" in w
               for w in res.warnings), res.warnings
    # a pinned release published late gets the window of its own upload, not the project's
    res = resolve(PY3, ["drift-pkg==2.0"], as_of=date(2019, 6, 1), index_url=fake_index.url)
    assert res.ok and res.pins == ["drift-pkg==2.0"], res.error


@needs_py3
def test_flags_backtracking_to_ancient_versions(fake_index: LocalIndex,
                                                driftdoc_cache: Path) -> None:
    assert PY3 is not None
    res = resolve(PY3, ["anchor-pkg", "pin-pkg>=2"], index_url=fake_index.url)
    assert res.ok
    assert "anchor-pkg==1.0" in res.pins
    assert res.backtracked == ["anchor-pkg"]
    assert any("backtracked" in w and "anchor-pkg" in w for w in res.warnings)


@needs_py3
def test_release_with_invalid_metadata_is_read_leniently(fake_index: LocalIndex,
                                                         driftdoc_cache: Path) -> None:
    """uv skips broken-meta 2.0 silently; its unparsable requirement is dropped, with a note."""
    assert PY3 is not None
    res = resolve(PY3, ["broken-meta"], index_url=fake_index.url)
    assert res.ok and res.pins == ["broken-meta==2.0"], res
    assert res.backtracked == []
    assert len(res.lenient) == 1 and "broken-meta 2.0" in res.lenient[0]
    assert "'pin-pkg (>>>=1 bogus' dropped" in res.lenient[0]


@needs_py3
def test_results_are_cached_on_disk(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    assert PY3 is not None
    first = resolve(PY3, ["pin-pkg"], as_of=date(2019, 6, 1), index_url=fake_index.url)
    hits = sum(fake_index.requests.values())
    second = resolve(PY3, ["pin-pkg"], as_of=date(2019, 6, 1), index_url=fake_index.url)
    assert second.cached and not first.cached
    assert second.pins == first.pins == ["pin-pkg==1.0"]
    assert sum(fake_index.requests.values()) == hits  # no network at all


@needs_py3
def test_unsatisfiable_is_reported_not_raised(fake_index: LocalIndex,
                                              driftdoc_cache: Path) -> None:
    assert PY3 is not None
    res = resolve(PY3, ["drift-pkg==9.9"], index_url=fake_index.url)
    assert not res.ok and res.pins == []
    assert res.error and "drift-pkg" in res.error


def test_bad_input_raises_input_error() -> None:
    with pytest.raises(InputError):
        resolve("3.8", ["this is not a requirement ==="])
    with pytest.raises(InputError):
        resolve("three", ["six"])


@needs_py27
@pytest.mark.network  # the 2.7 tools (virtualenv<20.22, pip 20.3.4) come from PyPI once
def test_py27_resolution_is_capped_by_date(fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    res = resolve("2.7", ["helper-pkg"], index_url=fake_index.url)
    if not res.ok and "preparing the Python 2.7 tools" in (res.error or ""):
        pytest.skip(f"cannot fetch the 2.7 tools: {res.error}")
    assert res.ok, res.error
    # drift-pkg 2.0 was uploaded after 2.7's end of life: versions current then are chosen.
    assert res.pins == ["drift-pkg==1.0", "helper-pkg==1.0"]
    res = resolve("2.7", ["anchor-pkg", "pin-pkg>=1"], index_url=fake_index.url)
    assert res.ok and res.pins == ["anchor-pkg==5.0", "pin-pkg==1.0"]


@needs_py27
@pytest.mark.network  # the 2.7 tools come from PyPI once
def test_py27_skips_releases_whose_index_entry_hides_requires_python(
        fake_index: LocalIndex, driftdoc_cache: Path) -> None:
    res = resolve("2.7", ["py3only-pkg"], index_url=fake_index.url)
    if not res.ok and "preparing the Python 2.7 tools" in (res.error or ""):
        pytest.skip(f"cannot fetch the 2.7 tools: {res.error}")
    assert res.ok, res.error
    assert res.pins == ["py3only-pkg==1.0"]
    # 2.0 excludes 2.7 in its own metadata: choosing 1.0 is right, not "backtracking".
    assert res.backtracked == [], res.warnings


def test_legacy_build_args_only_for_old_setup_py_failures(driftdoc_cache: Path) -> None:
    from driftdoc.env.toolchain.legacy import legacy_build_args

    assert legacy_build_args("error: could not find a version that satisfies foo") == []
    args = legacy_build_args("error in anyjson setup command: use_2to3 is invalid.")
    assert args[0] == "--build-constraints"
    assert Path(args[1]).read_text().strip() == "setuptools<58"


@pytest.mark.network
def test_old_setup_py_resolves_with_an_older_setuptools(driftdoc_cache: Path) -> None:
    # anyjson 0.3.3 (2012) passes use_2to3 to setup(), which setuptools 58 removed (and
    # setuptools < 58 needs distutils: Python 3.11 at most)
    python = next((v for v in ("3.11", "3.10", "3.9", "3.8") if has_python(v)), None)
    if python is None:
        pytest.skip("no Python 3.8-3.11 installed")
    res = resolve(python, ["anyjson==0.3.3"], index_url="https://pypi.org/simple")
    assert res.ok, res.error
    assert res.pins == ["anyjson==0.3.3"]


def test_resolution_that_needed_old_setuptools_remembers_the_pin(
        driftdoc_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from packaging.requirements import Requirement

    import driftdoc.env.toolchain.uv as uv
    from driftdoc.env.knowledge.releases import IndexReleases
    from driftdoc.env.toolchain.legacy import legacy_constraints

    def fake_uv(argv: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        if "--build-constraints" in argv:
            return subprocess.CompletedProcess(argv, 0, "oldlib==0.3.3\nsix==1.16.0\n", "")
        return subprocess.CompletedProcess(
            argv, 1, "", "  × Failed to build `oldlib==0.3.3`\n"
                         "  error in oldlib setup command: use_2to3 is invalid.\n")

    monkeypatch.setattr(uv, "run_bounded", fake_uv)
    assert legacy_constraints(["oldlib==0.3.3"]) == []
    index = "https://index.invalid/simple"
    res = uv.UvInstaller().resolve("3.8", [Requirement("oldlib"), Requirement("six")], None,
                                   index, IndexReleases(index_url=index), None, {})
    assert res.ok and res.pins == ["oldlib==0.3.3", "six==1.16.0"]
    assert legacy_constraints(["OldLib==0.3.3"]) == ["setuptools<58"]
    assert legacy_constraints(["six==1.16.0"]) == []


def test_wheel_fits_this_python_and_platform() -> None:
    from driftdoc.env.knowledge.distfiles import wheel_fits

    assert wheel_fits("a-1.0-cp36-cp36m-manylinux1_x86_64.whl", "3.6", "x86_64")
    assert not wheel_fits("a-1.0-cp36-cp36m-manylinux1_x86_64.whl", "3.8", "x86_64")
    assert wheel_fits("a-1.0-cp36-abi3-manylinux_2_17_x86_64.whl", "3.8", "x86_64")
    assert not wheel_fits("a-1.0-cp37-abi3-manylinux_2_17_x86_64.whl", "3.6", "x86_64")
    assert wheel_fits("a-1.0-py2.py3-none-any.whl", "2.7", "x86_64")
    assert not wheel_fits("a-1.0-cp36-cp36m-win_amd64.whl", "3.6", "x86_64")
    assert not wheel_fits("a-1.0-cp36-cp36m-manylinux1_i686.whl", "3.6", "x86_64")
    assert wheel_fits("a-1.0-cp310-cp310-manylinux2014_x86_64.whl", "3.10", "x86_64")
    assert not wheel_fits("a-1.0-cp31-cp31-manylinux2014_x86_64.whl", "3.10", "x86_64")


def _static_sdist(dest: Path, name: str, version: str) -> Path:
    """An sdist whose metadata a resolver reads without building it."""
    stem = f"{name.replace('-', '_')}-{version}"
    files = {
        "PKG-INFO": f"Metadata-Version: 2.2\nName: {name}\nVersion: {version}\n",
        "pyproject.toml": ('[build-system]\nrequires = ["setuptools"]\n'
                           'build-backend = "setuptools.build_meta"\n'
                           f'[project]\nname = "{name}"\nversion = "{version}"\n'),
    }
    dest.mkdir(parents=True, exist_ok=True)
    return make_sdist(dest / f"{stem}.tar.gz", stem, files)


@needs_py3
@pytest.mark.skipif(__import__("platform").machine() != "x86_64", reason="x86_64 wheel tags")
def test_a_release_without_a_wheel_for_this_python_gives_way_to_one_with_a_wheel(
        local_index: LocalIndex, tmp_path: Path, driftdoc_cache: Path) -> None:
    # bin-pkg ships compiled wheels; its newest release has one only for 2.7 (and an sdist
    # that would be compiled here, like opencv-python 5 on 3.6): 1.0 installs as it is.
    from support.wheels import make_wheel

    assert PY3 is not None
    files = {"bin_pkg/__init__.py": ""}
    local_index.add(make_wheel(tmp_path, "bin-pkg", "1.0", files,
                               tag="py3-none-manylinux1_x86_64"), upload_time="2019-01-01")
    local_index.add(make_wheel(tmp_path, "bin-pkg", "2.0", files,
                               tag="cp27-cp27mu-manylinux1_x86_64"), upload_time="2020-01-01")
    local_index.add(_static_sdist(tmp_path, "bin-pkg", "2.0"), upload_time="2020-01-01")
    res = resolve(PY3, ["bin-pkg"], index_url=local_index.url)
    assert res.ok, res.error
    assert res.pins == ["bin-pkg==1.0"]
    assert res.binary_only == ["bin-pkg"]
    assert res.backtracked == []
    # a release the requirements ask for by name is theirs to choose
    res = resolve(PY3, ["bin-pkg==2.0"], index_url=local_index.url)
    assert res.ok and res.pins == ["bin-pkg==2.0"], res.error


def test_builds_leave_out_optional_compiled_speedups(driftdoc_cache: Path) -> None:
    # cassandra-driver compiles Cython extensions for minutes per release unless told not to
    from driftdoc.env.toolchain.py27 import py27_pip_env
    from driftdoc.env.toolchain.uv import uv_env

    for env in (uv_env(), py27_pip_env()):
        assert env.get("CASS_DRIVER_NO_EXTENSIONS") == "1"


def test_py27_date_filter_keeps_wheels_uploaded_later_for_a_release_of_its_time(
        local_index: LocalIndex, tmp_path: Path, driftdoc_cache: Path) -> None:
    # pandas 0.18.1 came out in May 2016 and got its 2.7 wheels in July: as of June it
    # is the release of its time, and its wheel spares a source build
    import urllib.request
    from datetime import UTC, datetime

    from driftdoc.env.knowledge.releases import IndexReleases
    from driftdoc.env.toolchain.py27_proxy import DateFilterProxy
    from support.wheels import make_wheel

    files = {"late_pkg/__init__.py": ""}
    local_index.add(_static_sdist(tmp_path, "late-pkg", "1.0"), upload_time="2016-05-05")
    local_index.add(make_wheel(tmp_path, "late-pkg", "1.0", files,
                               tag="cp27-cp27mu-manylinux1_x86_64"), upload_time="2016-07-19")
    local_index.add(_static_sdist(tmp_path, "late-pkg", "2.0"), upload_time="2016-08-01")
    proxy = DateFilterProxy(IndexReleases(index_url=local_index.url),
                            datetime(2016, 6, 1, tzinfo=UTC))
    try:
        with urllib.request.urlopen(proxy.url + "/late-pkg/", timeout=30) as resp:
            page = resp.read().decode()
    finally:
        proxy.close()
    assert "late_pkg-1.0.tar.gz" in page
    assert "late_pkg-1.0-cp27-cp27mu-manylinux1_x86_64.whl" in page
    assert "late_pkg-2.0" not in page


@needs_py27
@pytest.mark.network  # the 2.7 tools come from PyPI once
@pytest.mark.skipif(__import__("platform").machine() != "x86_64", reason="x86_64 wheel tags")
def test_py27_prefers_a_release_with_a_wheel_to_a_newer_source_build(
        local_index: LocalIndex, tmp_path: Path, driftdoc_cache: Path) -> None:
    # numpy 1.10.0.post2 on 2.7 has no wheel: pip built it for minutes while backtracking
    # (opencv-python as of 2016); a release with a wheel is chosen before any sdist
    from support.wheels import make_wheel

    files = {"c_pkg/__init__.py": ""}
    local_index.add(make_wheel(tmp_path, "c-pkg", "1.0", files,
                               tag="cp27-cp27mu-manylinux1_x86_64"), upload_time="2015-01-01")
    stem = "c-pkg-2.0"
    local_index.add(make_sdist(tmp_path / f"{stem}.tar.gz", stem, {
        "setup.py": "from setuptools import setup\nsetup(name='c-pkg', version='2.0')\n",
        "PKG-INFO": "Metadata-Version: 1.1\nName: c-pkg\nVersion: 2.0\n"}),
        upload_time="2016-01-01")
    res = resolve("2.7", ["c-pkg"], index_url=local_index.url)
    if not res.ok and "preparing the Python 2.7 tools" in (res.error or ""):
        pytest.skip(f"cannot fetch the 2.7 tools: {res.error}")
    assert res.ok, res.error
    assert res.pins == ["c-pkg==1.0"]
    # a release the requirements ask for by name is still built
    res = resolve("2.7", ["c-pkg==2.0"], index_url=local_index.url)
    assert res.ok and res.pins == ["c-pkg==2.0"], res.error
