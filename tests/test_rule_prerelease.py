"""A Python 3 port that never left beta.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import Releases, search


def test_python3_port_that_never_left_beta_is_tried() -> None:
    class WithPre(Releases):
        def prereleases(self, name: str, python: str) -> list[str]:
            return ["3.0.0b1"] if name == "webapp2" else []

    releases = WithPre({"webapp2": ["2.4", "2.5.2"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if env["webapp2"] == "3.0.0b1":
            return Verdict(Kind.SNIPPET, exception_name="TypeError", line=40,
                           imports_completed=True)
        return Verdict(Kind.SYNTAX, exception_name="SyntaxError", line=1, in_package=True,
                       responsible="webapp2")

    start = State("3.8", None, (Dep(("webapp2",), ("webapp2",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"webapp2"}, pythons=("3.8",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("webapp2==3.0.0b1",)
    assert [(d.package, d.to_version) for d in out.drift] == [("webapp2", "3.0.0b1")]
