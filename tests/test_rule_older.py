"""Older releases of the blamed dependency: previous minor and major, and the bisection
over the rest (releases with wheels first).

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from packaging.version import Version

from driftdoc.env.search.context import version_ladder
from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import Releases, World, resolved, search


class _Wheels(Releases):
    """Releases whose wheels exist for the Pythons given per version (none: sdist only)."""

    def __init__(self, table: dict[str, list[str]], wheels: dict[str, tuple[str, ...]]) -> None:
        super().__init__(table)
        self.wheels = wheels

    def wheel_pythons(self, name: str, version: str,
                      pythons: Sequence[str]) -> list[str] | None:
        return [py for py in pythons if py in self.wheels.get(version, ())]


def _moved_world(good: Callable[[Version], bool]) -> World:
    """pandas.io.data: gone from 0.19 on; releases without wheels take a source build."""

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["pandas"])
        if v >= Version("0.19"):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=4,
                           missing_module="pandas.io.data",
                           exception_message="No module named data")
        if not good(v):
            return Verdict(Kind.INSTALL, failed_requirement="pandas")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    return world


def test_version_ladder_steps_down_by_minor() -> None:
    vs = ["0.18.1", "0.18.2", "0.19.0", "0.19.2", "0.20.0", "0.20.3", "1.0rc1"]
    assert version_ladder(vs, "0.20.3") == ["0.19.2", "0.18.2"]
    assert version_ladder(vs, None)[0] == "0.20.3"


def test_removed_submodule_needs_older_minor_then_name_error_is_reported() -> None:
    """V2's guess_candidate_model: sklearn.cross_validation went away in 0.20."""
    releases = Releases({"scikit-learn": ["0.17.1", "0.18.2", "0.19.2", "0.20.3", "0.21.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["scikit-learn"]) >= Version("0.20"):
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError",
                           exception_message="No module named 'sklearn.cross_validation'",
                           missing_module="sklearn.cross_validation", line=4)
        return Verdict(Kind.SNIPPET, exception_name="NameError", line=27, imports_completed=True,
                       exception_message="name 'labeled_sample' is not defined")

    start = State("3.7", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SNIPPET
    # the newest release that still has the submodule, found by bisection and narrowing
    assert [(d.package, d.from_version, d.to_version) for d in out.drift] == [
        ("scikit-learn", "0.21.0", "0.19.2")]
    assert "NameError" in (out.reason or "") and "line 27" in (out.reason or "")
    assert out.drift[-1].exception_name == "ModuleNotFoundError" and out.drift[-1].line == 4


def test_bisection_finds_newest_working_release_despite_uninstallable_old_ones() -> None:
    versions = [f"0.{m}.{p}" for m in range(9, 25) for p in (0, 1)]
    releases = Releases({"scikit-learn": versions})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["scikit-learn"])
        if v < Version("0.15"):
            return Verdict(Kind.INSTALL, failed_requirement="scikit-learn")  # no wheels
        if v >= Version("0.20"):
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=5,
                           missing_module="sklearn.cross_validation",
                           exception_message="No module named 'sklearn.cross_validation'")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.7", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"}, budget=12)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "scikit-learn") == Version("0.19.1")
    assert out.drift[-1].to_version == "0.19.1" and out.validations <= 10


def test_bisection_treats_another_failure_as_too_old() -> None:
    """mongoengine: new releases lack PY3 the snippet imports, very old ones break against
    today's pymongo with another error; the working middle must still be found."""
    versions = [f"0.{m}.0" for m in range(1, 17)]
    releases = Releases({"mongoengine": versions})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["mongoengine"])
        if v >= Version("0.12"):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=5,
                           exception_message="cannot import name PY3",
                           record={"execution": {
                               "exception_line": "from mongoengine.python_support import PY3"}})
        if v < Version("0.10"):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=5, in_package=True,
                           responsible="mongoengine",
                           exception_message="cannot import name Connection")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("mongoengine",), ("mongoengine",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"mongoengine"},
                   pythons=("2.7",), budget=12)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "mongoengine") == Version("0.11.0")


def test_bisection_goes_older_when_the_snippet_misses_another_api() -> None:
    """TensorFlow: 2.x lacks ``tf.Session`` (line 10); 1.x up to 0.12 lacks ``tf.select``
    (line 7), an earlier line in the snippet's own code: still "older", not "too old"."""
    versions = ["0.11.0", "0.12.1", "1.0.1", "1.1.0", "1.3.0", "1.7.1", "1.11.0", "1.13.2",
                "1.14.0", "1.15.0", "2.1.0"]
    releases = Releases({"tensorflow": versions})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["tensorflow"])
        if v >= Version("2"):
            return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=10,
                           responsible="tensorflow",
                           exception_message="'module' object has no attribute 'Session'")
        if v >= Version("1.0"):
            return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=7,
                           responsible="tensorflow",
                           exception_message="'module' object has no attribute 'select'")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("tensorflow",), ("tensorflow",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"tensorflow"},
                   pythons=("2.7",), budget=16)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "tensorflow") == Version("0.12.1")


def test_bisection_tries_releases_with_wheels_before_source_builds() -> None:
    versions = [f"0.{m}.0" for m in range(1, 25)]
    wheels = {v: ("2.7",) for v in versions if Version(v) >= Version("0.18")}
    releases = _Wheels({"pandas": versions}, wheels)
    start = State("2.7", None, (Dep(("pandas",), ("pandas",)),))
    rs, validator = search(start, releases, _moved_world(lambda v: True), lookup={},
                           imports={"pandas"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "pandas") == Version("0.18.0")
    tried = {r for a in validator.seen for r in a.requirements}
    assert not any(Version(r.partition("==")[2] or "99") < Version("0.18") for r in tried
                   if r.startswith("pandas==")), tried


def test_bisection_goes_on_to_releases_without_wheels_when_all_with_wheels_fail() -> None:
    versions = [f"0.{m}.0" for m in range(1, 25)]
    wheels = {v: ("2.7",) for v in versions if Version(v) >= Version("0.20")}
    releases = _Wheels({"pandas": versions}, wheels)
    start = State("2.7", None, (Dep(("pandas",), ("pandas",)),))
    rs, _ = search(start, releases, _moved_world(lambda v: v >= Version("0.10")), lookup={},
                   imports={"pandas"}, pythons=("2.7",), budget=24)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "pandas") == Version("0.18.0")


def test_bisection_reads_a_stub_saying_the_module_moved_as_too_new() -> None:
    """pandas 0.19 left a stub where pandas.io.data was ("moved to a separate package"):
    a different failure at the same line, but the module is in older releases."""
    versions = [f"0.{m}.0" for m in range(14, 25)]
    releases = Releases({"pandas": versions})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["pandas"])
        if v >= Version("0.21"):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=4,
                           missing_module="pandas.io.data",
                           exception_message="No module named data")
        if v >= Version("0.17"):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=4, in_package=True,
                           exception_message="The pandas.io.data module is moved to a "
                                             "separate package (pandas-datareader).")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("pandas",), ("pandas",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"pandas"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "pandas") == Version("0.16.0")
