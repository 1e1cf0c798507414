"""Another Python: SyntaxErrors, other Pythons' standard libraries, packages with
releases only for some Pythons.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from driftdoc.env.search.repair import RepairSearch
from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, search


def test_python2_only_snippet_switches_interpreter() -> None:
    releases = Releases({"six": ["1.12.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("3"):
            return Verdict(Kind.SYNTAX, exception_name="SyntaxError", line=5,
                           exception_message="Missing parentheses in call to 'print'")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.7", None, (Dep(("six",), ("six",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"six"}, pythons=("3.7", "2.7"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS
    assert out.state.python == "2.7" and out.validations == 2


def test_module_from_another_pythons_stdlib_switches_python() -> None:
    """urllib2 is not a package to install: it says the snippet is Python 2."""
    releases = Releases({"requests": ["2.22.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("3"):
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=1,
                           exception_message="No module named 'urllib2'",
                           missing_module="urllib2")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("requests",), ("requests",)),))
    validator = FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: [m], snippet_imports=frozenset({"urllib2", "requests"}),
                      pythons=("3.8", "2.7"), stdlib_in=lambda m, py: m == "urllib2" and
                      py == "2.7")
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS
    assert out.state.python == "2.7" and out.validations == 2
    assert not any("urllib2" in r for a in validator.seen for r in a.requirements)


def test_syntax_error_inside_a_python2_package_switches_python_first() -> None:
    releases = Releases({"webapp2": ["2.4", "2.5.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("3"):
            return Verdict(Kind.SYNTAX, exception_name="SyntaxError", line=1, in_package=True,
                           responsible="webapp2", exception_message="invalid syntax")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("webapp2",), ("webapp2",)),))
    rs, validator = search(start, releases, world, lookup={}, imports={"webapp2"},
                           pythons=("3.8", "2.7"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS
    assert out.state.python == "2.7" and len(validator.seen) == 2


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
            return Verdict(Kind.SNIPPET, exception_name="KeyError", line=34, imports_completed=True)
        return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=34,
                       exception_message="module 'bpy' has no attribute 'data'")

    class PyAware(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                if "bpy" in a.requirements and a.python != "3.11":
                    out.append(Verdict(Kind.INSTALL, failed_requirement="bpy"))
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
            return Verdict(Kind.SYNTAX, exception_name="SyntaxError", line=1, in_package=True,
                           responsible="webapp2")
        return Verdict(Kind.SNIPPET, exception_name="NameError", line=30, imports_completed=True)

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


def test_name_missing_from_the_standard_library_moves_python() -> None:
    """A dependency's ``from subprocess import getoutput`` fails on 2.7: no release of
    anything is to blame, Python 3 has it."""
    releases = Releases({"pymaps": ["0.1.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if py.startswith("2."):
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=3, in_package=True,
                           exception_message="cannot import name getoutput",
                           record={"execution": {
                               "exception_line": "from subprocess import getoutput"}})
        return Verdict(Kind.SUCCESS)

    rs, _ = search(State("2.7", None, (Dep(("pymaps",), ("pymaps",)),)), releases, world,
                   lookup={}, imports={"pymaps"}, pythons=("2.7", "3.8"))
    rs.context.stdlib_in = lambda module, py: module == "subprocess"
    found = rs.run()
    assert found.state.python == "3.8" and found.verdict is not None
    assert found.verdict.kind == Kind.SUCCESS
