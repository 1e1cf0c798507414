"""The release-content oracle: the newest release that still ships a vanished module.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from packaging.version import Version

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import Releases, search


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
        return Verdict(Kind.SUCCESS)
    return Verdict(Kind.IMPORT, exception_name="ImportError", line=25,
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
    verdict = Verdict(Kind.IMPORT, exception_name="ImportError", line=25,
                      exception_message="No module named pygson",
                      missing_module="httpie.pygson", pins=["httpie==1.0.3"])
    from driftdoc.env.search.context import Target
    from driftdoc.env.search.rules import holder

    target = Target(dep_state, verdict.failure, tuple(verdict.pins), "why", index=0,
                    module="httpie.pygson")
    assert holder.propose(rs.context, target) == []
    assert releases.asked == ["1.0.3"]


def test_submodule_no_release_ever_shipped_points_to_another_distribution() -> None:
    """PyPI's ``tulip`` is a namesake of the asyncio prototype: none of its releases has
    tulip/events.py, so the next candidate comes before any version move."""
    releases = _Shipping({"tulip": ["1.2.1", "1.3.0"], "tulip-proto": ["0.1"]}, holders=set())

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "tulip-proto" in env:
            return Verdict(Kind.SUCCESS)
        return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=22,
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
            return Verdict(Kind.SUCCESS)
        return Verdict(Kind.IMPORT, exception_name="ImportError", line=8,
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
        return Verdict(Kind.IMPORT, exception_name="ImportError", line=5,
                       exception_message="cannot import name 'Bootstrap' from "
                                         "'sklearn.cross_validation'")

    start = State("3.8", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"}, pythons=("3.8",),
                   budget=3)
    rs.run()
    assert releases.asked == []


def test_a_function_named_in_cannot_import_name_costs_two_file_lists() -> None:
    """Most lowercase names are functions: the release in use and the oldest one rule the
    module reading out, instead of a file list per minor release."""
    versions = [f"{major}.{minor}.0" for major in (1, 2, 3) for minor in range(6)]
    releases = _Shipping({"django": versions}, holders=set())

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(Kind.IMPORT, exception_name="ImportError", line=21,
                       exception_message="cannot import name 'ugettext_lazy' from "
                                         "'django.utils.translation'")

    start = State("3.8", None, (Dep(("django",), ("django",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"django"}, pythons=("3.8",),
                   budget=2)
    rs.run()
    assert releases.asked == ["3.5.0", "1.0.0"]
