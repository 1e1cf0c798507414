"""An old release gets its dependencies as of its own time.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from packaging.version import Version

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, search


def test_old_release_gets_its_dependencies_as_of_its_own_time() -> None:
    """Flask 0.12 imports ``Markup`` from Jinja2, which Jinja2 3 removed: moving Flask back
    only helps when its dependencies move back with it."""
    releases = Releases({"flask": ["0.12.5", "1.0.4", "2.3.3"]},
                        dates={("flask", "0.12.5"): dt.date(2020, 2, 10),
                               ("flask", "1.0.4"): dt.date(2019, 7, 4)})

    def world(py: str, env: dict[str, str]) -> Verdict:
        raise AssertionError("the validator below decides")

    class Dated(FakeValidator):
        def evaluate(self, attempts: Sequence[Attempt]) -> list[Verdict | None]:
            out: list[Verdict | None] = []
            for a in attempts:
                flask = dict(r.partition("==")[::2] for r in a.requirements).get("flask") \
                    or "2.3.3"
                if Version(flask) >= Version("1.0"):
                    v = Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=2,
                                missing_module="flask.ext",
                                exception_message="No module named 'flask.ext'")
                elif a.as_of is None or a.as_of > dt.date(2021, 6, 1):  # Jinja2 3 around
                    v = Verdict(Kind.IMPORT, exception_name="ImportError", line=1, in_package=True,
                                responsible="flask",
                                exception_message="cannot import name 'Markup' from 'jinja2'")
                else:
                    v = Verdict(Kind.SNIPPET, exception_name="RuntimeError", line=9,
                                imports_completed=True)
                v.pins = [f"flask=={flask}"]
                out.append(v)
            return out

    start = State("3.8", None, (Dep(("flask",), ("flask",)),))
    rs, _ = search(start, releases, world, lookup={}, imports={"flask"},
                   pythons=("3.8",), validator=Dated(releases, world))
    out = rs.run()
    assert out.verdict is not None and out.verdict.ok
    assert out.state.attempt().requirements == ("flask==0.12.5",)
    assert out.state.as_of == dt.date(2020, 2, 10) + dt.timedelta(days=180)
