"""Another distribution for the same import.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from packaging.version import Version

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict
from support.fakeworld import Releases, resolved, search


def test_wrong_distribution_falls_back_to_next_candidate() -> None:
    releases = Releases({"serial": ["0.0.97"], "pyserial": ["3.4"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "pyserial" in env:
            return Verdict(Kind.SUCCESS, imports_completed=True)
        return Verdict(Kind.IMPORT, exception_name="AttributeError", missing_module="serial",
                       exception_message="No module named 'serial'", line=1)

    start = State("3.7", None, (Dep(("serial",), ("serial", "pyserial")),))
    rs, _ = search(start, releases, world, lookup={}, imports={"serial"})
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS
    assert out.state.deps[0].dist == "pyserial"


def test_an_alternative_distribution_is_walked_back_too() -> None:
    """``from path import path``: 'path' never had it; its predecessor 'path.py' had it
    until 9.1, so the alternative's own releases must be searched, not just its newest."""
    releases = Releases({"path": ["13.0", "15.0", "16.0"],
                         "path.py": [f"{m}.0" for m in range(5, 13)]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        ok = "path.py" in env and Version(env["path.py"]) < Version("10")
        if ok:
            return Verdict(Kind.SUCCESS, imports_completed=True)
        return Verdict(Kind.IMPORT, exception_name="ImportError", line=6,
                       exception_message="cannot import name 'path' from 'path'")

    start = State("3.8", None, (Dep(("path",), ("path", "path.py")),))
    rs, _ = search(start, releases, world, lookup={}, imports={"path"}, pythons=("3.8",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert resolved(out.verdict, "path.py") == Version("9.0")


def test_a_package_that_does_not_parse_here_gives_way_to_the_next_candidate() -> None:
    """``import cjson`` on 2.7: codedjson (first candidate) is Python 3 code; python-cjson is
    the one the gist meant."""
    releases = Releases({"codedjson": ["1.3.2"], "python-cjson": ["1.2.1"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        if "codedjson" in env:
            return Verdict(Kind.SYNTAX, exception_name="SyntaxError", line=25, in_package=True,
                           responsible="codedjson", exception_message="invalid syntax")
        return Verdict(Kind.SUCCESS, imports_completed=True)

    start = State("2.7", None, (Dep(("cjson",), ("codedjson", "python-cjson")),))
    rs, _ = search(start, releases, world, lookup={}, imports={"cjson"}, pythons=("2.7",))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.SUCCESS, out.steps
    assert out.state.deps[0].dist == "python-cjson"
