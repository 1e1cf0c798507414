"""Going on without a dependency nothing installs here.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from collections.abc import Sequence

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, search


def test_project_local_module_is_dropped_and_never_re_added() -> None:
    """``from jiffy.admin import x``: nothing on the index provides jiffy (a module of the
    gist's own project). The rest of the environment is still validated and reported."""
    releases = Releases({"flask": ["0.10.1", "1.1.1"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(Kind.IMPORT, exception_name="ImportError", missing_module="jiffy.admin",
                       exception_message="No module named jiffy.admin", line=13)

    start = State("2.7", None, (Dep(("flask",), ("flask",)), Dep(("jiffy",), ("jiffy",))))
    rs, validator = search(start, releases, world, lookup={"jiffy": ["jiffy"]},
                           imports={"flask", "jiffy"}, pythons=("2.7", "3.7"))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind == Kind.IMPORT
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
        return Verdict(Kind.SNIPPET, exception_name="IndexError", line=20, imports_completed=True)

    class NoBuild(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                if any(r.startswith("mysqlclient") for r in a.requirements):
                    out.append(Verdict(Kind.INSTALL, failed_requirement="mysqlclient"))
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


def test_every_dependency_missing_from_the_index_is_dropped_in_one_move() -> None:
    releases = Releases({"numpy": ["1.16.6"]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(Kind.IMPORT, exception_name="ImportError", missing_module="gisutils",
                       exception_message="No module named gisutils", line=3)

    start = State("2.7", None, (Dep(("gisutils",), ("gisutils",)), Dep(("numpy",), ("numpy",)),
                                Dep(("svgfig",), ("svgfig",))))
    rs, validator = search(start, releases, world, lookup={}, imports={"gisutils", "svgfig"},
                           pythons=("2.7",))
    out = rs.run()
    assert [d.dist for d in out.state.deps] == ["numpy"]
    assert out.validations == 2 and len(validator.seen) == 2
