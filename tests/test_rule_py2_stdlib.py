"""An old release that needs Python 2's standard library is retried on 2.7.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from driftdoc.env.search.repair import RepairSearch
from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import FakeValidator, Releases


def test_old_release_needing_python2_stdlib_is_retried_on_27_with_the_same_release() -> None:
    """Scrapy 0.22 imports sgmllib (Python 2's standard library): retry that very release on
    2.7; a plain Python move would start from the newest Scrapy again, which lost
    ``scrapy.log``."""
    releases = Releases({"scrapy": ["0.22.2", "1.8.0"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if env["scrapy"] == "1.8.0":
            return Verdict(Kind.IMPORT, exception_name="ImportError", line=1,
                           exception_message="cannot import name 'log' from 'scrapy'")
        if py.startswith("3"):
            return Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=1,
                           exception_message="No module named 'sgmllib'",
                           missing_module="sgmllib", in_package=True, responsible="scrapy")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("3.8", None, (Dep(("scrapy",), ("Scrapy",)),))
    validator = FakeValidator(releases, world)
    rs = RepairSearch(start, evaluate=validator.evaluate, releases=releases,
                      lookup=lambda m: [], snippet_imports=frozenset({"scrapy"}),
                      pythons=("3.8", "2.7"), budget=3,
                      stdlib_in=lambda m, py: m == "sgmllib" and py == "2.7")
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS
    assert out.state.python == "2.7"
    assert out.state.attempt().requirements == ("Scrapy==0.22.2",)
