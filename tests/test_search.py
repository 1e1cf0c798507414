"""The repair search against fake worlds whose ground truth is known.

These pin the search logic (blame, moves, checkpoints, drift records) without
building anything; the hermetic end-to-end tests with real wheels live elsewhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from packaging.version import Version

from driftdoc.env.knowledge.distfiles import DistFile, Release
from driftdoc.env.search.repair import Dep, RepairSearch, State, version_ladder
from driftdoc.env.validation.verdict import (
    DRIFT,
    IMPORT,
    INSTALL,
    SNIPPET,
    SNIPPET_ATTR,
    SUCCESS,
    SYNTAX,
    Attempt,
    Verdict,
)

World = Callable[[str, dict[str, str]], Verdict]


class Releases:
    def __init__(self, table: dict[str, list[str]],
                 dates: dict[tuple[str, str], dt.date] | None = None) -> None:
        self.table = table
        self.dates = dates or {}

    def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
        return sorted(self.table.get(name.lower(), []), key=Version)

    def exists(self, name: str) -> bool:
        return name.lower() in self.table

    def upload_date(self, name: str, version: str) -> dt.date | None:
        return self.dates.get((name.lower(), version))

    # what a world with no file facts answers (subclasses below add some)
    def prereleases(self, name: str, python: str) -> list[str]:
        return []

    def wheel_pythons(self, name: str, version: str, pythons: Sequence[str]) -> list[str] | None:
        return None

    def ships(self, name: str, version: str, module: str) -> bool | None:
        return None

    def releases(self, name: str) -> list[Release]:
        return []

    def files(self, name: str) -> list[DistFile]:
        return []

    def metadata(self, file: DistFile) -> bytes | None:
        return None


class FakeValidator:
    """Resolves unpinned requirements to the newest release, then asks the world."""

    def __init__(self, releases: Releases, world: World) -> None:
        self.releases = releases
        self.world = world
        self.seen: list[Attempt] = []

    def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
        out: list[Verdict | None] = []
        for att in attempts:
            self.seen.append(att)
            env: dict[str, str] = {}
            for req in att.requirements:
                name, _, version = req.partition("==")
                if not self.releases.exists(name):
                    out.append(Verdict(INSTALL, failed_requirement=name))
                    break
                env[name.lower()] = version or self.releases.versions(name, att.python, None)[-1]
            else:
                verdict = self.world(att.python, env)
                verdict.pins = [f"{k}=={v}" for k, v in sorted(env.items())]
                out.append(verdict)
        return out


def search(start: State, releases: Releases, world: World, *, lookup: dict[str, list[str]],
           imports: set[str], pythons: Sequence[str] = ("3.7",), budget: int = 16,
           validator: FakeValidator | None = None) -> tuple[RepairSearch, FakeValidator]:
    validator = validator or FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: lookup.get(m, []), snippet_imports=frozenset(imports),
                      pythons=pythons, budget=budget)
    return rs, validator


def test_version_ladder_steps_down_by_minor() -> None:
    vs = ["0.18.1", "0.18.2", "0.19.0", "0.19.2", "0.20.0", "0.20.3", "1.0rc1"]
    assert version_ladder(vs, "0.20.3") == ["0.19.2", "0.18.2"]
    assert version_ladder(vs, None)[0] == "0.20.3"


def test_removed_submodule_needs_older_minor_then_name_error_is_reported() -> None:
    """V2's guess_candidate_model: sklearn.cross_validation went away in 0.20."""
    releases = Releases({"scikit-learn": ["0.17.1", "0.18.2", "0.19.2", "0.20.3", "0.21.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["scikit-learn"]) >= Version("0.20"):
            return Verdict(IMPORT, exception_name="ModuleNotFoundError",
                           exception_message="No module named 'sklearn.cross_validation'",
                           missing_module="sklearn.cross_validation", line=4)
        return Verdict(SNIPPET, exception_name="NameError", line=27, imports_completed=True,
                       exception_message="name 'labeled_sample' is not defined")

    start = State("3.7", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SNIPPET
    # the newest release that still has the submodule, found by bisection and narrowing
    assert [(d.package, d.from_version, d.to_version) for d in out.drift] == [
        ("scikit-learn", "0.21.0", "0.19.2")]
    assert "NameError" in (out.reason or "") and "line 27" in (out.reason or "")
    assert out.drift[-1].exception_name == "ModuleNotFoundError" and out.drift[-1].line == 4


def resolved(verdict: Verdict, name: str) -> Version:
    for pin in verdict.pins:
        n, _, v = pin.partition("==")
        if n == name:
            return Version(v)
    raise AssertionError(f"{name} not in {verdict.pins}")


def test_older_major_plus_backend() -> None:
    """Keras 2 dropped an API the snippet uses; Keras 1 needs Theano as its backend."""
    releases = Releases({"keras": ["0.3.3", "1.2.2", "2.2.4"], "tensorflow": ["1.13.1"],
                         "theano": ["0.8.2", "1.0.4"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        major = Version(env["keras"]).major
        if major >= 2:
            if "tensorflow" not in env:
                return Verdict(IMPORT, exception_name="ModuleNotFoundError",
                               exception_message="No module named 'tensorflow'",
                               missing_module="tensorflow", line=3, in_package=True,
                               responsible="keras")
            return Verdict(SNIPPET_ATTR, exception_name="AttributeError", line=10,
                           imports_completed=True,
                           exception_message="module 'keras.layers' has no attribute 'Conv'")
        if "theano" not in env:
            return Verdict(IMPORT, exception_name="ModuleNotFoundError",
                           exception_message="No module named 'theano'",
                           missing_module="theano", line=3, in_package=True, responsible="keras")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.7", None, (Dep(("keras",), ("keras",)),))
    rs, _ = search(start, releases, world, imports={"keras"},
                   lookup={"tensorflow": ["tensorflow"], "theano": ["Theano"]})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert resolved(out.verdict, "keras").major == 1
    assert any(p.startswith("theano==") for p in out.verdict.pins)
    assert any(d.package == "keras" and d.to_version == "1.2.2" for d in out.drift)


def test_python2_only_snippet_switches_interpreter() -> None:
    releases = Releases({"six": ["1.12.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("3"):
            return Verdict(SYNTAX, exception_name="SyntaxError", line=5,
                           exception_message="Missing parentheses in call to 'print'")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.7", None, (Dep(("six",), ("six",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"six"}, pythons=("3.7", "2.7"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS
    assert out.state.python == "2.7" and out.validations == 2


def test_wrong_distribution_falls_back_to_next_candidate() -> None:
    releases = Releases({"serial": ["0.0.97"], "pyserial": ["3.4"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "pyserial" in env:
            return Verdict(SUCCESS, imports_completed=True)
        return Verdict(IMPORT, exception_name="AttributeError", missing_module="serial",
                       exception_message="No module named 'serial'", line=1)

    start = State("3.7", None, (Dep(("serial",), ("serial", "pyserial")),))
    rs, _ = search(start, releases, world, lookup={}, imports={"serial"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS
    assert out.state.deps[0].dist == "pyserial"


def test_unrepairable_drift_stops_within_budget() -> None:
    releases = Releases({"numpy": [f"1.{i}.0" for i in range(10, 25)]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(DRIFT, exception_name="TypeError", exception_message="nope", line=3,
                       in_package=True, responsible="numpy")

    start = State("3.7", None, (Dep(("numpy",), ("numpy",)),))
    rs, validator = search(start, releases, world, lookup={}, imports={"numpy"}, budget=5)
    out = rs.run()
    assert out.verdict is not None and not out.verdict.ok
    assert len(validator.seen) <= 5 and out.validations <= 5
    assert out.reason and "TypeError" in out.reason
    assert len({a for a in validator.seen}) == len(validator.seen)  # nothing validated twice


def test_module_from_another_pythons_stdlib_switches_python() -> None:
    """urllib2 is not a package to install: it says the snippet is Python 2."""
    releases = Releases({"requests": ["2.22.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("3"):
            return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=1,
                           exception_message="No module named 'urllib2'",
                           missing_module="urllib2")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("requests",), ("requests",)),))
    validator = FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: [m], snippet_imports=frozenset({"urllib2", "requests"}),
                      pythons=("3.8", "2.7"), stdlib_in=lambda m, py: m == "urllib2" and
                      py == "2.7")
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS
    assert out.state.python == "2.7" and out.validations == 2
    assert not any("urllib2" in r for a in validator.seen for r in a.requirements)


def test_syntax_error_inside_a_python2_package_switches_python_first() -> None:
    releases = Releases({"webapp2": ["2.4", "2.5.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("3"):
            return Verdict(SYNTAX, exception_name="SyntaxError", line=1, in_package=True,
                           responsible="webapp2", exception_message="invalid syntax")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("webapp2",), ("webapp2",)),))
    rs, validator = search(start, releases, world, lookup={}, imports={"webapp2"},
                           pythons=("3.8", "2.7"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS
    assert out.state.python == "2.7" and len(validator.seen) == 2


def test_old_release_is_retried_on_the_python_of_its_time() -> None:
    """scikit-learn 0.19 has no wheels for 3.8, but installs on 3.6 (its own time)."""
    releases = Releases({"scikit-learn": ["0.19.2", "0.20.3", "0.22.2"]},
                        dates={("scikit-learn", "0.19.2"): dt.date(2018, 7, 15),
                               ("scikit-learn", "0.20.3"): dt.date(2019, 3, 1)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["scikit-learn"])
        if v >= Version("0.20"):
            return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=3,
                           missing_module="sklearn.cross_validation",
                           exception_message="No module named 'sklearn.cross_validation'")
        if py in ("3.8", "3.9"):
            return Verdict(INSTALL, failed_requirement="scikit-learn")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"},
                   pythons=("3.8", "3.7", "3.6", "3.9"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert out.state.python == "3.7"  # the newest Python released before 0.19.2
    assert resolved(out.verdict, "scikit-learn") == Version("0.19.2")


def test_bisection_finds_newest_working_release_despite_uninstallable_old_ones() -> None:
    versions = [f"0.{m}.{p}" for m in range(9, 25) for p in (0, 1)]
    releases = Releases({"scikit-learn": versions})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["scikit-learn"])
        if v < Version("0.15"):
            return Verdict(INSTALL, failed_requirement="scikit-learn")  # no wheels
        if v >= Version("0.20"):
            return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=5,
                           missing_module="sklearn.cross_validation",
                           exception_message="No module named 'sklearn.cross_validation'")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.7", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"}, budget=12)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
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
            return Verdict(IMPORT, exception_name="ImportError", line=5,
                           exception_message="cannot import name PY3",
                           record={"execution": {
                               "exception_line": "from mongoengine.python_support import PY3"}})
        if v < Version("0.10"):
            return Verdict(IMPORT, exception_name="ImportError", line=5, in_package=True,
                           responsible="mongoengine",
                           exception_message="cannot import name Connection")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("mongoengine",), ("mongoengine",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"mongoengine"},
                   pythons=("2.7",), budget=12)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
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
            return Verdict(SNIPPET_ATTR, exception_name="AttributeError", line=10,
                           responsible="tensorflow",
                           exception_message="'module' object has no attribute 'Session'")
        if v >= Version("1.0"):
            return Verdict(SNIPPET_ATTR, exception_name="AttributeError", line=7,
                           responsible="tensorflow",
                           exception_message="'module' object has no attribute 'select'")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("tensorflow",), ("tensorflow",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"tensorflow"},
                   pythons=("2.7",), budget=16)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert resolved(out.verdict, "tensorflow") == Version("0.12.1")


def test_an_alternative_distribution_is_walked_back_too() -> None:
    """``from path import path``: 'path' never had it; its predecessor 'path.py' had it
    until 9.1, so the alternative's own releases must be searched, not just its newest."""
    releases = Releases({"path": ["13.0", "15.0", "16.0"],
                         "path.py": [f"{m}.0" for m in range(5, 13)]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        ok = "path.py" in env and Version(env["path.py"]) < Version("10")
        if ok:
            return Verdict(SUCCESS, imports_completed=True)
        return Verdict(IMPORT, exception_name="ImportError", line=6,
                       exception_message="cannot import name 'path' from 'path'")

    start = State("3.8", None, (Dep(("path",), ("path", "path.py")),))
    rs, _ = search(start, releases, world, lookup={}, imports={"path"}, pythons=("3.8",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert resolved(out.verdict, "path.py") == Version("9.0")


def test_a_package_that_does_not_parse_here_gives_way_to_the_next_candidate() -> None:
    """``import cjson`` on 2.7: codedjson (first candidate) is Python 3 code; python-cjson is
    the one the gist meant."""
    releases = Releases({"codedjson": ["1.3.2"], "python-cjson": ["1.2.1"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "codedjson" in env:
            return Verdict(SYNTAX, exception_name="SyntaxError", line=25, in_package=True,
                           responsible="codedjson", exception_message="invalid syntax")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("cjson",), ("codedjson", "python-cjson")),))
    rs, _ = search(start, releases, world, lookup={}, imports={"cjson"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert out.state.deps[0].dist == "python-cjson"


def test_old_release_steps_down_pythons_until_one_has_wheels() -> None:
    """TensorFlow 1.15.5 came out in 2021 but only has wheels up to Python 3.7."""
    releases = Releases({"tensorflow": ["1.15.5", "2.11.0"]},
                        dates={("tensorflow", "1.15.5"): dt.date(2021, 1, 6)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["tensorflow"]).major >= 2:
            return Verdict(SNIPPET_ATTR, exception_name="AttributeError", line=4,
                           imports_completed=True,
                           exception_message="module 'tensorflow' has no attribute 'contrib'")
        if py not in ("3.6", "3.7"):
            return Verdict(INSTALL, failed_requirement="tensorflow")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.10", None, (Dep(("tensorflow",), ("tensorflow",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"tensorflow"},
                   pythons=("3.10", "3.9", "3.8", "3.7", "3.6"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert out.state.python == "3.7"
    assert out.drift[0].package == "tensorflow" and out.drift[0].to_version == "1.15.5"


def test_python2_attribute_error_is_blamed_through_the_alias_on_the_line() -> None:
    """Python 2 says "'module' object has no attribute 'random_normal'" without a name."""
    releases = Releases({"tensorflow": ["1.15.0", "2.1.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["tensorflow"]).major >= 2:
            return Verdict(SNIPPET_ATTR, exception_name="AttributeError", line=51,
                           imports_completed=True,
                           exception_message="'module' object has no attribute 'random_normal'",
                           record={"execution": {
                               "exception_line": "w = tf.random_normal([3, 3])"}})
        return Verdict(SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("tensorflow",), ("tensorflow",)),))
    validator = FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: [], snippet_imports=frozenset({"tensorflow"}),
                      pythons=("2.7",), aliases={"tf": "tensorflow"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert out.drift[0].package == "tensorflow" and out.drift[0].to_version == "1.15.0"


def test_undeclared_dependency_of_an_old_release_is_added() -> None:
    """Old scikit-learn did not declare numpy; the snippet imports both."""
    releases = Releases({"scikit-learn": ["0.18.2", "0.20.4"], "numpy": ["1.16.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["scikit-learn"]) >= Version("0.20"):
            return Verdict(IMPORT, exception_name="ImportError", line=15,
                           exception_message="cannot import name 'cross_validation' from "
                                             "'sklearn'")
        if "numpy" not in env:
            return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=1,
                           missing_module="numpy", exception_message="No module named 'numpy'")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.6", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={"numpy": ["numpy"]},
                   imports={"sklearn", "numpy"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert any(p.startswith("numpy==") for p in out.verdict.pins)


def test_several_undeclared_dependencies_are_added_in_one_move() -> None:
    """An old release needing numpy *and* scipy, neither declared nor imported directly."""
    releases = Releases({"scikit-learn": ["0.18.2", "0.20.4"], "numpy": ["1.16.0"],
                         "scipy": ["1.2.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["scikit-learn"]) >= Version("0.20"):
            return Verdict(IMPORT, exception_name="ImportError", line=15,
                           exception_message="cannot import name 'cross_validation' from "
                                             "'sklearn'")
        for need in ("numpy", "scipy"):
            if need not in env:
                return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=1,
                               missing_module=need, in_package=True, responsible="sklearn",
                               exception_message=f"No module named '{need}'")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.6", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={"numpy": ["numpy"], "scipy": ["scipy"]},
                   imports={"sklearn"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert {p.split("==")[0] for p in out.verdict.pins} == {"scikit-learn", "numpy", "scipy"}


def test_project_local_module_is_dropped_and_never_re_added() -> None:
    """``from jiffy.admin import x``: nothing on the index provides jiffy (a module of the
    gist's own project). The rest of the environment is still validated and reported."""
    releases = Releases({"flask": ["0.10.1", "1.1.1"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(IMPORT, exception_name="ImportError", missing_module="jiffy.admin",
                       exception_message="No module named jiffy.admin", line=13)

    start = State("2.7", None, (Dep(("flask",), ("flask",)), Dep(("jiffy",), ("jiffy",))))
    rs, validator = search(start, releases, world, lookup={"jiffy": ["jiffy"]},
                           imports={"flask", "jiffy"}, pythons=("2.7", "3.7"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == IMPORT
    assert [d.dist for d in out.state.deps] == ["flask"]
    assert out.verdict.pins == ["flask==1.1.1"]
    assert out.reason is not None and "no installable distribution provides jiffy" in out.reason
    assert all("jiffy" not in " ".join(a.requirements) for a in validator.seen[1:])
    assert out.validations == 2


def test_lazily_imported_uninstallable_package_is_dropped_and_the_snippet_runs() -> None:
    """A package that exists but never installs here (system libraries missing): after the
    cheaper moves fail, going on without it works when only a function imports it."""
    releases = Releases({"mysqlclient": ["1.3.14", "1.4.6"], "requests": ["2.22.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(SNIPPET, exception_name="IndexError", line=20, imports_completed=True)

    class NoBuild(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                if any(r.startswith("mysqlclient") for r in a.requirements):
                    out.append(Verdict(INSTALL, failed_requirement="mysqlclient"))
                else:
                    out += super().evaluate([a])
            return out

    start = State("2.7", None, (Dep(("requests",), ("requests",)),
                                Dep(("MySQLdb",), ("mysqlclient",))))
    rs, _ = search(start, releases, world, lookup={}, imports={"requests", "MySQLdb"},
                   pythons=("2.7",), validator=NoBuild(releases, world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert [d.dist for d in out.state.deps] == ["requests"]
    assert out.steps[-1]["move"] == "drop"


def test_package_without_releases_for_this_python_moves_to_one_that_has_them() -> None:
    """bpy publishes wheels for one Python at a time: go there before trying namesakes."""
    class PerPython(Releases):
        def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
            if name.lower() == "bpy":
                return ["4.2.0"] if python == "3.11" else []
            return super().versions(name, python, as_of)

    releases = PerPython({"bpy": ["4.2.0"], "b.py": ["0.11.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "bpy" in env:
            return Verdict(SNIPPET, exception_name="KeyError", line=34, imports_completed=True)
        return Verdict(SNIPPET_ATTR, exception_name="AttributeError", line=34,
                       exception_message="module 'bpy' has no attribute 'data'")

    class PyAware(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                if "bpy" in a.requirements and a.python != "3.11":
                    out.append(Verdict(INSTALL, failed_requirement="bpy"))
                else:
                    out += super().evaluate([a])
            return out

    start = State("3.8", None, (Dep(("bpy",), ("bpy", "b.py"), standin=True),))
    rs, _ = search(start, releases, world, lookup={}, imports={"bpy"},
                   pythons=("3.8", "3.9", "3.11"), validator=PyAware(releases, world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.python == "3.11" and out.state.deps[0].dist == "bpy"
    assert out.validations == 2


def test_transitive_package_that_drifted_is_promoted_and_stepped_down() -> None:
    """``from flask.ext.sqlalchemy import ...`` needs Flask < 1.0, but only
    flask-sqlalchemy is a direct dependency: flask must become one to move."""
    releases = Releases({"flask-sqlalchemy": ["2.1", "2.4.1"],
                         "flask": ["0.10.1", "0.11.1", "0.12.5", "1.0.4", "1.1.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        flask = Version(env.get("flask", "1.1.2"))
        if flask >= Version("1.0"):
            return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=2,
                           missing_module="flask.ext",
                           exception_message="No module named 'flask.ext'")
        return Verdict(SNIPPET, exception_name="RuntimeError", line=9, imports_completed=True)

    class WithFlask(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                reqs = a.requirements
                if not any(r.startswith("flask==") or r == "flask" for r in reqs):
                    reqs = (*reqs, "flask")  # pulled in by flask-sqlalchemy
                out += super().evaluate([Attempt(a.python, reqs, a.as_of)])
            return out

    start = State("3.7", None, (Dep(("flask_sqlalchemy",), ("flask-sqlalchemy",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"flask"},
                   pythons=("3.7",), validator=WithFlask(releases, world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert "flask==0.12.5" in out.state.attempt().requirements
    assert [d.package for d in out.drift] == ["flask"]


def test_python2_cannot_import_name_is_blamed_through_the_from_line() -> None:
    """Python 2 names no module in "cannot import name Bootstrap": the line does."""
    releases = Releases({"scikit-learn": ["0.15.2", "0.16.1", "0.17.1", "0.18.2", "0.19.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["scikit-learn"]) >= Version("0.17"):
            return Verdict(IMPORT, exception_name="ImportError", line=5,
                           exception_message="cannot import name Bootstrap",
                           record={"execution": {"exception_line":
                                   "from sklearn.cross_validation import Bootstrap"}})
        return Verdict(SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS
    assert "scikit-learn==0.16.1" in out.state.attempt().requirements


def test_import_error_naming_what_a_package_requires_adds_it() -> None:
    releases = Releases({"ipython": ["0.13.2"], "pyzmq": ["2.2.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "pyzmq" in env:
            return Verdict(SUCCESS, imports_completed=True)
        return Verdict(IMPORT, exception_name="ImportError", line=21, in_package=True,
                       responsible="ipython",
                       exception_message="IPython.zmq requires pyzmq >= 2.1.4")

    start = State("2.7", None, (Dep(("IPython",), ("ipython",)),))
    rs, _ = search(start, releases, world, lookup={"pyzmq": ["pyzmq"]}, imports={"IPython"},
                   pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS
    assert any(d.dist == "pyzmq" for d in out.state.deps)


def test_python_move_leaves_out_packages_without_releases_for_that_python() -> None:
    """webapp2 is Python 2 only; appengine-python-standard is Python 3 only: on 2.7 the
    snippet gets further without the latter than with an install failure."""
    class PerPython(Releases):
        def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
            if name.lower() == "appengine-python-standard" and python.startswith("2"):
                return []
            return super().versions(name, python, as_of)

    releases = PerPython({"webapp2": ["2.5.2"], "appengine-python-standard": ["1.1.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("3"):
            return Verdict(SYNTAX, exception_name="SyntaxError", line=1, in_package=True,
                           responsible="webapp2")
        return Verdict(SNIPPET, exception_name="NameError", line=30, imports_completed=True)

    def deps_for(py: str) -> tuple[Dep, ...]:
        return (Dep(("webapp2",), ("webapp2",)),
                Dep(("google",), ("appengine-python-standard",)))

    validator = FakeValidator(releases, world)
    rs = RepairSearch(State("3.8", None, deps_for("3.8")), evaluate=validator.evaluate,
                      releases=releases, lookup=lambda m: [],
                      snippet_imports=frozenset({"webapp2", "google"}),
                      pythons=("3.8", "2.7"), deps_for_python=deps_for)
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok and out.state.python == "2.7"
    assert [d.dist for d in out.state.deps] == ["webapp2"]


def test_python3_port_that_never_left_beta_is_tried() -> None:
    class WithPre(Releases):
        def prereleases(self, name: str, python: str) -> list[str]:
            return ["3.0.0b1"] if name == "webapp2" else []

    releases = WithPre({"webapp2": ["2.4", "2.5.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if env["webapp2"] == "3.0.0b1":
            return Verdict(SNIPPET, exception_name="TypeError", line=40, imports_completed=True)
        return Verdict(SYNTAX, exception_name="SyntaxError", line=1, in_package=True,
                       responsible="webapp2")

    start = State("3.8", None, (Dep(("webapp2",), ("webapp2",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"webapp2"}, pythons=("3.8",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("webapp2==3.0.0b1",)
    assert [(d.package, d.to_version) for d in out.drift] == [("webapp2", "3.0.0b1")]


def test_old_release_gets_its_dependencies_as_of_its_own_time() -> None:
    """Flask 0.12 imports ``Markup`` from Jinja2, which Jinja2 3 removed: moving Flask back
    only helps when its dependencies move back with it."""
    releases = Releases({"flask": ["0.12.5", "1.0.4", "2.3.3"]},
                        dates={("flask", "0.12.5"): dt.date(2020, 2, 10),
                               ("flask", "1.0.4"): dt.date(2019, 7, 4)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        raise AssertionError("the validator below decides")

    class Dated(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                flask = dict(r.partition("==")[::2] for r in a.requirements).get("flask") \
                    or "2.3.3"
                if Version(flask) >= Version("1.0"):
                    v = Verdict(IMPORT, exception_name="ModuleNotFoundError", line=2,
                                missing_module="flask.ext",
                                exception_message="No module named 'flask.ext'")
                elif a.as_of is None or a.as_of > dt.date(2021, 6, 1):  # Jinja2 3 around
                    v = Verdict(IMPORT, exception_name="ImportError", line=1, in_package=True,
                                responsible="flask",
                                exception_message="cannot import name 'Markup' from 'jinja2'")
                else:
                    v = Verdict(SNIPPET, exception_name="RuntimeError", line=9,
                                imports_completed=True)
                v.pins = [f"flask=={flask}"]
                out.append(v)
            return out

    start = State("3.8", None, (Dep(("flask",), ("flask",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"flask"},
                   pythons=("3.8",), validator=Dated(releases, world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("flask==0.12.5",)
    assert out.state.as_of == dt.date(2020, 2, 10) + dt.timedelta(days=180)


def test_undeclared_dependencies_of_an_old_release_come_of_its_time() -> None:
    """scikit-learn 0.19 (2017) imports scipy without declaring it and needs
    ``scipy.misc.comb``, which scipy 1.3 removed: the added scipy must be of 2017."""
    releases = Releases({"scikit-learn": ["0.19.1", "0.24.2"], "scipy": ["1.0.0", "1.5.4"]},
                        dates={("scikit-learn", "0.19.1"): dt.date(2017, 10, 23),
                               ("scikit-learn", "0.24.2"): dt.date(2021, 4, 28)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        raise AssertionError("the validator below decides")

    class Dated(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                self.seen.append(a)
                reqs = dict(r.partition("==")[::2] for r in a.requirements)
                sk = reqs.get("scikit-learn") or "0.24.2"
                new_scipy = a.as_of is None or a.as_of > dt.date(2019, 5, 1)
                if Version(sk) >= Version("0.20"):
                    v = Verdict(IMPORT, exception_name="ModuleNotFoundError", line=3,
                                missing_module="sklearn.cross_validation",
                                exception_message="No module named 'sklearn.cross_validation'")
                elif "scipy" not in reqs:
                    v = Verdict(IMPORT, exception_name="ModuleNotFoundError", line=3,
                                in_package=True, missing_module="scipy",
                                exception_message="No module named 'scipy'")
                elif new_scipy:
                    v = Verdict(DRIFT, exception_name="AttributeError", line=3, in_package=True,
                                responsible="scikit-learn",
                                exception_message="module 'scipy.misc' has no attribute 'comb'")
                else:
                    v = Verdict(SUCCESS, imports_completed=True)
                v.pins = [f"scikit-learn=={sk}"]
                out.append(v)
            return out

    start = State("3.6", None, (Dep(("sklearn",), ("scikit-learn",)),))
    validator = Dated(releases, world)
    rs, _ = search(start, releases, world, lookup={"scipy": ["scipy"]},
                   imports={"sklearn"}, pythons=("3.6",), validator=validator)
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert out.state.as_of is not None and out.state.as_of < dt.date(2019, 5, 1)
    # no validation went to the old release with today's dependencies but without scipy
    assert not any(a.as_of is not None and "scipy" not in " ".join(a.requirements)
                   for a in validator.seen)


def test_every_dependency_missing_from_the_index_is_dropped_in_one_move() -> None:
    releases = Releases({"numpy": ["1.16.6"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(IMPORT, exception_name="ImportError", missing_module="gisutils",
                       exception_message="No module named gisutils", line=3)

    start = State("2.7", None, (Dep(("gisutils",), ("gisutils",)), Dep(("numpy",), ("numpy",)),
                                Dep(("svgfig",), ("svgfig",))))
    rs, validator = search(start, releases, world, lookup={}, imports={"gisutils", "svgfig"},
                           pythons=("2.7",))
    out = rs.run()
    assert [d.dist for d in out.state.deps] == ["numpy"]
    assert out.validations == 2 and len(validator.seen) == 2


def test_name_missing_from_the_standard_library_moves_python() -> None:
    """A dependency's ``from subprocess import getoutput`` fails on 2.7: no release of
    anything is to blame, Python 3 has it."""
    releases = Releases({"pymaps": ["0.1.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("2."):
            return Verdict(IMPORT, exception_name="ImportError", line=3, in_package=True,
                           exception_message="cannot import name getoutput",
                           record={"execution": {
                               "exception_line": "from subprocess import getoutput"}})
        return Verdict(SUCCESS)

    rs, _ = search(State("2.7", None, (Dep(("pymaps",), ("pymaps",)),)), releases, world,
                   lookup={}, imports={"pymaps"}, pythons=("2.7", "3.8"))
    rs.stdlib_in = lambda module, py: module == "subprocess"
    found = rs.run()
    assert found.state.python == "3.8" and found.verdict is not None
    assert found.verdict.kind == SUCCESS


def test_losing_the_module_a_name_was_imported_from_is_not_progress() -> None:
    from driftdoc.env.search.repair import _moved_on

    before = Verdict(IMPORT, exception_name="ImportError", line=1,
                     missing_module="django.conf.urls",
                     exception_message="cannot import name 'patterns' from 'django.conf.urls'")
    gone = Verdict(IMPORT, exception_name="ModuleNotFoundError", line=1,
                   missing_module="django.conf", exception_message="No module named 'django.conf'")
    further = Verdict(IMPORT, exception_name="ModuleNotFoundError", line=2,
                      missing_module="six", exception_message="No module named 'six'")
    assert not _moved_on(before, gone)
    assert _moved_on(before, further)


def test_release_without_a_wheel_for_this_python_goes_to_one_it_has_wheels_for() -> None:
    """scikit-learn 0.18 has compiled wheels up to 3.6 only: probing it on 3.8 first would
    spend the time limit on a source build that fails anyway."""

    class WheelReleases(Releases):
        def wheel_pythons(self, name: str, version: str,
                          pythons: Sequence[str]) -> list[str] | None:
            top = {"0.18.2": "3.6", "0.19.2": "3.7", "0.20.4": "3.7"}.get(version, "3.8")
            return [py for py in pythons if Version(py) <= Version(top)]

    releases = WheelReleases({"scikit-learn": ["0.18.2", "0.19.2", "0.20.4", "0.22.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["scikit-learn"])
        if v >= Version("0.20"):
            return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=3,
                           missing_module="sklearn.cross_validation",
                           exception_message="No module named 'sklearn.cross_validation'")
        if py == "3.8":
            return Verdict(INSTALL, failed_requirement="scikit-learn")  # a source build
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, validator = search(start, releases, world, lookup={}, imports={"sklearn"},
                           pythons=("3.8", "3.7", "3.6"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert out.state.python == "3.7" and resolved(out.verdict, "scikit-learn") == Version("0.19.2")
    # no old release was ever tried where it has no wheel
    assert not any(a.python == "3.8" and any(r.startswith("scikit-learn==0.1") for r in
                                             a.requirements) for a in validator.seen)


def test_index_releases_tell_which_pythons_a_release_has_wheels_for() -> None:
    from driftdoc.env.knowledge.index import IndexClient
    from driftdoc.env.knowledge.releases import IndexReleases

    def rel(version: str, *names: str) -> Release:
        return Release(version, None, None, False,
                       [DistFile(n, n, None, None, False) for n in names])

    class Client(IndexClient):
        def releases(self, name: str) -> list[Release]:
            if name == "pure":
                return [rel("1.0", "pure-1.0.tar.gz", "pure-1.0-py3-none-any.whl")]
            if name == "win":
                return [rel("1.0", "win-1.0.tar.gz", "win-1.0-cp38-cp38-win_amd64.whl")]
            return [rel("0.18.2", "c-0.18.2.tar.gz", "c-0.18.2-cp36-cp36m-manylinux1_x86_64.whl",
                        "c-0.18.2-cp37-cp37m-win_amd64.whl"),
                    rel("0.16.1", "c-0.16.1.tar.gz")]

    idx = IndexReleases(Client(index_url="file:///nowhere"))
    if __import__("platform").machine() == "x86_64":
        assert idx.wheel_pythons("c", "0.18.2", ["3.8", "3.7", "3.6"]) == ["3.6"]
    assert idx.wheel_pythons("c", "0.16.1", ["3.8", "3.6"]) == []
    assert idx.wheel_pythons("pure", "1.0", ["3.8"]) is None
    assert idx.wheel_pythons("win", "1.0", ["3.8"]) is None  # builds from source here anyway


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
            return Verdict(IMPORT, exception_name="ImportError", line=4,
                           missing_module="pandas.io.data",
                           exception_message="No module named data")
        if not good(v):
            return Verdict(INSTALL, failed_requirement="pandas")
        return Verdict(SUCCESS, imports_completed=True)

    return world


def test_bisection_tries_releases_with_wheels_before_source_builds() -> None:
    versions = [f"0.{m}.0" for m in range(1, 25)]
    wheels = {v: ("2.7",) for v in versions if Version(v) >= Version("0.18")}
    releases = _Wheels({"pandas": versions}, wheels)
    start = State("2.7", None, (Dep(("pandas",), ("pandas",)),))
    rs, validator = search(start, releases, _moved_world(lambda v: True), lookup={},
                           imports={"pandas"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
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
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert resolved(out.verdict, "pandas") == Version("0.18.0")


def test_bisection_reads_a_stub_saying_the_module_moved_as_too_new() -> None:
    """pandas 0.19 left a stub where pandas.io.data was ("moved to a separate package"):
    a different failure at the same line, but the module is in older releases."""
    versions = [f"0.{m}.0" for m in range(14, 25)]
    releases = Releases({"pandas": versions})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["pandas"])
        if v >= Version("0.21"):
            return Verdict(IMPORT, exception_name="ImportError", line=4,
                           missing_module="pandas.io.data",
                           exception_message="No module named data")
        if v >= Version("0.17"):
            return Verdict(IMPORT, exception_name="ImportError", line=4, in_package=True,
                           exception_message="The pandas.io.data module is moved to a "
                                             "separate package (pandas-datareader).")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("pandas",), ("pandas",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"pandas"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS, out.steps
    assert resolved(out.verdict, "pandas") == Version("0.16.0")

def test_package_that_builds_only_past_the_cutoff_gets_its_newer_release() -> None:
    """RPi.GPIO <= 0.7.0 no longer links with GCC 10+ (-fno-common); 0.7.1, released after
    the 2.7 cut-off, is that fix: worth one build before a stand-in distribution."""
    class Dated(Releases):
        def versions(self, name: str, python: str, as_of: dt.date | None) -> list[str]:
            return [v for v in super().versions(name, python, as_of)
                    if as_of is None or self.dates[(name.lower(), v)] <= as_of]

    dates = {("rpi.gpio", "0.6.5"): dt.date(2018, 11, 1),
             ("rpi.gpio", "0.7.0"): dt.date(2019, 7, 1),
             ("rpi.gpio", "0.7.1"): dt.date(2022, 2, 1),
             ("fakerpigpio", "0.3a1"): dt.date(2016, 1, 1)}
    releases = Dated({"rpi.gpio": ["0.6.5", "0.7.0", "0.7.1"], "fakerpigpio": ["0.3a1"]},
                     dates)

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "fakerpigpio" in env:
            return Verdict(SNIPPET_ATTR, exception_name="AttributeError", line=100,
                           exception_message="'module' object has no attribute 'BOTH'")
        return Verdict(SNIPPET, exception_name="RuntimeError", line=5,
                       imports_completed=False)

    class OldBuildsFail(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                if any(r.lower() in ("rpi.gpio", "rpi.gpio==0.7.0", "rpi.gpio==0.6.5")
                       for r in a.requirements):
                    out.append(Verdict(INSTALL, failed_requirement="RPi.GPIO"))
                else:
                    out += super().evaluate([a])
            return out

    start = State("2.7", dt.date(2019, 12, 31),
                  (Dep(("RPi",), ("RPi.GPIO", "fakeRPiGPIO"), standin=True),))
    rs, _ = search(start, releases, world, lookup={}, imports={"RPi"}, pythons=("2.7",),
                   validator=OldBuildsFail(releases, world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("RPi.GPIO==0.7.1",)
    assert [s["move"] for s in out.steps][-1] == "newer"


class _Shipping(Releases):
    """Releases whose file lists are known: ``holders`` ships the module, nothing else."""

    def __init__(self, table: dict[str, list[str]], holders: set[str]) -> None:
        super().__init__(table)
        self.holders = holders
        self.asked: list[str] = []

    def ships(self, name: str, version: str, module: str) -> bool | None:
        self.asked.append(version)
        return version in self.holders


def _pygson_world(py: str, env: dict[str, str]) -> Verdict:
    if env["httpie"] == "0.2.0":
        return Verdict(SUCCESS)
    return Verdict(IMPORT, exception_name="ImportError", line=25,
                   exception_message="No module named pygson",
                   missing_module="httpie.pygson")


def test_vanished_submodule_jumps_to_the_newest_release_that_ships_it() -> None:
    """httpie/pygson.py lived only in httpie 0.2.0: the per-minor ladder probes 0.2.7 and
    0.1.6 and never finds it; the release file lists do, for one validation."""
    versions = ["0.1.6", "0.2.0", "0.2.1", "0.2.7", "0.3.1", "0.9.9", "1.0.3"]
    releases = _Shipping({"httpie": versions}, holders={"0.2.0"})
    start = State("2.7", None, (Dep(("httpie",), ("httpie",)),))
    rs, validator = search(start, releases, _pygson_world, lookup={}, imports={"httpie"},
                           pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("httpie==0.2.0",)
    assert len(validator.seen) == 2
    assert releases.asked[0] == "1.0.3"  # first: does the release in use lack it at all?


def test_holder_oracle_stays_quiet_when_the_release_in_use_has_the_module() -> None:
    """The module is there but fails to import for another reason: no jump."""
    releases = _Shipping({"httpie": ["0.2.0", "1.0.3"]}, holders={"0.2.0", "1.0.3"})
    start = State("2.7", None, (Dep(("httpie",), ("httpie",)),))
    rs, _ = search(start, releases, _pygson_world, lookup={}, imports={"httpie"},
                   pythons=("2.7",))
    dep_state = start
    verdict = Verdict(IMPORT, exception_name="ImportError", line=25,
                      exception_message="No module named pygson",
                      missing_module="httpie.pygson", pins=["httpie==1.0.3"])
    assert rs._holder_moves(dep_state, 0, "httpie.pygson", verdict, "why") == []
    assert releases.asked == ["1.0.3"]


def test_submodule_no_release_ever_shipped_points_to_another_distribution() -> None:
    """PyPI's ``tulip`` is a namesake of the asyncio prototype: none of its releases has
    tulip/events.py, so the next candidate comes before any version move."""
    releases = _Shipping({"tulip": ["1.2.1", "1.3.0"], "tulip-proto": ["0.1"]}, holders=set())

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "tulip-proto" in env:
            return Verdict(SUCCESS)
        return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=22,
                       exception_message="No module named 'tulip.events'",
                       missing_module="tulip.events")

    start = State("3.8", None, (Dep(("tulip",), ("tulip", "tulip-proto")),))
    rs, validator = search(start, releases, world, lookup={}, imports={"tulip"},
                           pythons=("3.8",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("tulip-proto",)
    assert len(validator.seen) == 2


def test_submodule_named_in_cannot_import_name_jumps_to_a_release_that_ships_it() -> None:
    """``from oauth2client import appengine``: the module moved to oauth2client.contrib in
    2.0; the file lists point at 1.5.2 without bisecting."""
    versions = ["1.4.12", "1.5.2", "2.0.2", "3.0.0", "4.1.3"]
    releases = _Shipping({"oauth2client": versions}, holders={"1.4.12", "1.5.2"})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["oauth2client"]) < Version("2"):
            return Verdict(SUCCESS)
        return Verdict(IMPORT, exception_name="ImportError", line=8,
                       exception_message="cannot import name 'appengine' from 'oauth2client'")

    start = State("3.8", None, (Dep(("oauth2client",), ("oauth2client",)),))
    rs, validator = search(start, releases, world, lookup={}, imports={"oauth2client"},
                           pythons=("3.8",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("oauth2client==1.5.2",)
    assert len(validator.seen) == 2


def test_a_class_named_in_cannot_import_name_is_not_looked_up_as_a_module() -> None:
    releases = _Shipping({"scikit-learn": ["0.16.1", "0.17.1"]}, holders=set())

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(IMPORT, exception_name="ImportError", line=5,
                       exception_message="cannot import name 'Bootstrap' from "
                                         "'sklearn.cross_validation'")

    start = State("3.8", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"}, pythons=("3.8",),
                   budget=3)
    rs.run()
    assert releases.asked == []


def test_old_release_needing_python2_stdlib_is_retried_on_27_with_the_same_release() -> None:
    """Scrapy 0.22 imports sgmllib (Python 2's standard library): retry that very release on
    2.7; a plain Python move would start from the newest Scrapy again, which lost
    ``scrapy.log``."""
    releases = Releases({"scrapy": ["0.22.2", "1.8.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if env["scrapy"] == "1.8.0":
            return Verdict(IMPORT, exception_name="ImportError", line=1,
                           exception_message="cannot import name 'log' from 'scrapy'")
        if py.startswith("3"):
            return Verdict(IMPORT, exception_name="ModuleNotFoundError", line=1,
                           exception_message="No module named 'sgmllib'",
                           missing_module="sgmllib", in_package=True, responsible="scrapy")
        return Verdict(SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("scrapy",), ("Scrapy",)),))
    validator = FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: [], snippet_imports=frozenset({"scrapy"}),
                      pythons=("3.8", "2.7"), budget=3,
                      stdlib_in=lambda m, py: m == "sgmllib" and py == "2.7")
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == SUCCESS
    assert out.state.python == "2.7"
    assert out.state.attempt().requirements == ("Scrapy==0.22.2",)


def test_a_function_named_in_cannot_import_name_costs_two_file_lists() -> None:
    """Most lowercase names are functions: the release in use and the oldest one rule the
    module reading out, instead of a file list per minor release."""
    versions = [f"{major}.{minor}.0" for major in (1, 2, 3) for minor in range(6)]
    releases = _Shipping({"django": versions}, holders=set())

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(IMPORT, exception_name="ImportError", line=21,
                       exception_message="cannot import name 'ugettext_lazy' from "
                                         "'django.utils.translation'")

    start = State("3.8", None, (Dep(("django",), ("django",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"django"}, pythons=("3.8",),
                   budget=2)
    rs.run()
    assert releases.asked == ["3.5.0", "1.0.0"]
