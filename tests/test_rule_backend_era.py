"""A framework without its backend gets the backend of its era: when a package fails to
import a module nobody installed (Keras 2.2 -> tensorflow), the module's distribution is
added as of half a year after that package's release first, not today's, which breaks the
old framework another way."""

from __future__ import annotations

import datetime as dt

from packaging.version import Version

from driftdoc.env.search.state import Dep, SearchOutcome, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import AsOfValidator, DatedReleases, search

DATES = {("kerasfake", "2.2.4"): dt.date(2018, 10, 3),
         ("tensorflowfake", "1.12.0"): dt.date(2018, 11, 5),
         ("tensorflowfake", "2.9.0"): dt.date(2022, 5, 16)}


def keras_world(python: str, env: dict[str, str]) -> Verdict:
    """kerasfake 2.2 imports tensorflowfake at import time and uses the 1.x API."""
    if "tensorflowfake" not in env:
        return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=1,
                       exception_message="No module named 'tensorflowfake'",
                       missing_module="tensorflowfake", responsible="kerasfake",
                       in_package=True)
    if Version(env["tensorflowfake"]) >= Version("2"):
        return Verdict(Kind.DRIFT, exception_name="AttributeError", line=1,
                       exception_message="module 'tensorflowfake' has no attribute "
                                         "'get_default_graph'",
                       responsible="kerasfake", in_package=True)
    return Verdict(Kind.SUCCESS, imports_completed=True)


def run() -> tuple[SearchOutcome, AsOfValidator]:
    releases = DatedReleases({"kerasfake": ["2.2.4"], "tensorflowfake": ["1.12.0", "2.9.0"]},
                             DATES)
    start = State("3.7", None, (Dep(("kerasfake",), ("kerasfake",)),))
    validator = AsOfValidator(releases, keras_world)
    rs, _ = search(start, releases, keras_world, lookup={"tensorflowfake": ["tensorflowfake"]},
                   imports={"kerasfake"}, pythons=("3.7",), validator=validator)
    return rs.run(), validator


def test_the_backend_of_its_era_is_added_first() -> None:
    out, validator = run()
    assert out.verdict is not None and out.verdict.kind is Kind.SUCCESS
    assert "tensorflowfake==1.12.0" in out.verdict.pins
    # ground truth: the dated addition works at once, no detour through today's backend
    assert len(validator.seen) == 2
    kept = [s for s in out.steps if s["kept"]]
    assert kept[-1]["move"] == "add" and "as of 2019-04-01 (the time of kerasfake 2.2.4)" \
        in kept[-1]["why"]
