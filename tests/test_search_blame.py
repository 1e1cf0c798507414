"""Blame: which dependency a failure points at (situations), including transitive ones
and names found through the failing line.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from driftdoc.env.search.repair import RepairSearch
from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, search


def test_python2_attribute_error_is_blamed_through_the_alias_on_the_line() -> None:
    """Python 2 says "'module' object has no attribute 'random_normal'" without a name."""
    releases = Releases({"tensorflow": ["1.15.0", "2.1.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["tensorflow"]).major >= 2:
            return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=51,
                           imports_completed=True,
                           exception_message="'module' object has no attribute 'random_normal'",
                           record={"execution": {
                               "exception_line": "w = tf.random_normal([3, 3])"}})
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("tensorflow",), ("tensorflow",)),))
    validator = FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: [], snippet_imports=frozenset({"tensorflow"}),
                      pythons=("2.7",), aliases={"tf": "tensorflow"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert out.drift[0].package == "tensorflow" and out.drift[0].to_version == "1.15.0"


def test_transitive_package_that_drifted_is_promoted_and_stepped_down() -> None:
    """``from flask.ext.sqlalchemy import ...`` needs Flask < 1.0, but only
    flask-sqlalchemy is a direct dependency: flask must become one to move."""
    releases = Releases({"flask-sqlalchemy": ["2.1", "2.4.1"],
                         "flask": ["0.10.1", "0.11.1", "0.12.5", "1.0.4", "1.1.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        flask = Version(env.get("flask", "1.1.2"))
        if flask >= Version("1.0"):
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=2,
                           missing_module="flask.ext",
                           exception_message="No module named 'flask.ext'")
        return Verdict(Kind.SNIPPET, exception_name="RuntimeError", line=9, imports_completed=True)

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
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=5,
                           exception_message="cannot import name Bootstrap",
                           record={"execution": {"exception_line":
                                   "from sklearn.cross_validation import Bootstrap"}})
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS
    assert "scikit-learn==0.16.1" in out.state.attempt().requirements
