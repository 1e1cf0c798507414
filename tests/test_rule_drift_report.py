"""Every version a kept move changes is reported as drift, old -> new and what it fixed, not
only the package a version move named (V2's "mobi": an era move took Sphinx 1.8.5 -> 1.4.9
and the result said ``"drift": []``)."""

from __future__ import annotations

import datetime as dt

from packaging.version import Version

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import AsOfValidator, DatedReleases, search

DATES = {("sphinxlike", "1.4.9"): dt.date(2016, 11, 1),
         ("sphinxlike", "1.8.5"): dt.date(2019, 3, 1),
         ("helperlike", "1.0"): dt.date(2015, 1, 1),
         ("helperlike", "2.0"): dt.date(2020, 1, 1)}


def sphinx_world(python: str, env: dict[str, str]) -> Verdict:
    """Only Sphinx before 1.5 still has the API the snippet calls (unblamed: the message
    names no module, so no single package is stepped down)."""
    if Version(env["sphinxlike"]) < Version("1.5"):
        return Verdict(Kind.SUCCESS)
    return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=12,
                   imports_completed=True,
                   exception_message="'Builder' object has no attribute 'add_stub'")


def test_an_era_move_reports_every_version_it_changed() -> None:
    releases = DatedReleases({"sphinxlike": ["1.4.9", "1.8.5"], "helperlike": ["1.0", "2.0"]},
                             DATES)
    start = State("3.7", None, (Dep(("sphinxlike",), ("sphinxlike",)),
                                Dep(("helperlike",), ("helperlike",))))
    rs, _ = search(start, releases, sphinx_world, lookup={},
                   imports={"sphinxlike", "helperlike"}, pythons=("3.7",),
                   validator=AsOfValidator(releases, sphinx_world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind is Kind.SUCCESS
    assert [s["move"] for s in out.steps if s["kept"]][-1] == "era"
    drift = {(d.package, d.from_version, d.to_version, d.move, d.exception_name)
             for d in out.drift}
    # both versions the era changed, each with the error it fixed; ground truth: the pins
    assert drift == {("sphinxlike", "1.8.5", "1.4.9", "era", "AttributeError"),
                     ("helperlike", "2.0", "1.0", "era", "AttributeError")}


def test_an_unchanged_dependency_is_not_drift() -> None:
    releases = DatedReleases({"sphinxlike": ["1.4.9", "1.8.5"], "helperlike": ["1.0"]}, DATES)
    start = State("3.7", None, (Dep(("sphinxlike",), ("sphinxlike",)),
                                Dep(("helperlike",), ("helperlike",))))
    rs, _ = search(start, releases, sphinx_world, lookup={},
                   imports={"sphinxlike", "helperlike"}, pythons=("3.7",),
                   validator=AsOfValidator(releases, sphinx_world))
    out = rs.run()
    assert [(d.package, d.from_version, d.to_version) for d in out.drift] == \
        [("sphinxlike", "1.8.5", "1.4.9")]
