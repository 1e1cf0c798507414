"""An old release on the Python of its own time (and where its wheels are).

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from packaging.version import Version

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import Releases, resolved, search


def test_old_release_is_retried_on_the_python_of_its_time() -> None:
    """scikit-learn 0.19 has no wheels for 3.8, but installs on 3.6 (its own time)."""
    releases = Releases({"scikit-learn": ["0.19.2", "0.20.3", "0.22.2"]},
                        dates={("scikit-learn", "0.19.2"): dt.date(2018, 7, 15),
                               ("scikit-learn", "0.20.3"): dt.date(2019, 3, 1)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        v = Version(env["scikit-learn"])
        if v >= Version("0.20"):
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=3,
                           missing_module="sklearn.cross_validation",
                           exception_message="No module named 'sklearn.cross_validation'")
        if py in ("3.8", "3.9"):
            return Verdict(Kind.INSTALL, failed_requirement="scikit-learn")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"sklearn"},
                   pythons=("3.8", "3.7", "3.6", "3.9"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert out.state.python == "3.7"  # the newest Python released before 0.19.2
    assert resolved(out.verdict, "scikit-learn") == Version("0.19.2")


def test_old_release_steps_down_pythons_until_one_has_wheels() -> None:
    """TensorFlow 1.15.5 came out in 2021 but only has wheels up to Python 3.7."""
    releases = Releases({"tensorflow": ["1.15.5", "2.11.0"]},
                        dates={("tensorflow", "1.15.5"): dt.date(2021, 1, 6)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if Version(env["tensorflow"]).major >= 2:
            return Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=4,
                           imports_completed=True,
                           exception_message="module 'tensorflow' has no attribute 'contrib'")
        if py not in ("3.6", "3.7"):
            return Verdict(Kind.INSTALL, failed_requirement="tensorflow")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.10", None, (Dep(("tensorflow",), ("tensorflow",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"tensorflow"},
                   pythons=("3.10", "3.9", "3.8", "3.7", "3.6"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert out.state.python == "3.7"
    assert out.drift[0].package == "tensorflow" and out.drift[0].to_version == "1.15.5"


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
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=3,
                           missing_module="sklearn.cross_validation",
                           exception_message="No module named 'sklearn.cross_validation'")
        if py == "3.8":
            return Verdict(Kind.INSTALL, failed_requirement="scikit-learn")  # a source build
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("sklearn",), ("scikit-learn",)),))
    rs, validator = search(start, releases, world, lookup={}, imports={"sklearn"},
                           pythons=("3.8", "3.7", "3.6"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert out.state.python == "3.7" and resolved(out.verdict, "scikit-learn") == Version("0.19.2")
    # no old release was ever tried where it has no wheel
    assert not any(a.python == "3.8" and any(r.startswith("scikit-learn==0.1") for r in
                                             a.requirements) for a in validator.seen)
