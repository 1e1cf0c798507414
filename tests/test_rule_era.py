"""The whole environment as of an earlier date, when no single dependency is to blame."""

from __future__ import annotations

import datetime as dt

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import FakeValidator, Releases, search


class Dated(FakeValidator):
    """The snippet runs only with the world of mid-2019 or earlier (a date horizon)."""

    def evaluate(self, attempts: list[Attempt]) -> list[Verdict | None]:  # type: ignore[override]
        self.seen.extend(attempts)
        return [Verdict(Kind.SUCCESS) if a.as_of is not None and a.as_of <= dt.date(2019, 6, 1)
                else Verdict(Kind.SNIPPET_ATTR, exception_name="AttributeError", line=7,
                             imports_completed=True,
                             exception_message="'Session' object has no attribute 'run'")
                for a in attempts]


def test_unblamed_failure_moves_everything_back_in_time() -> None:
    releases = Releases({"tflike": ["1.0", "2.0"]})
    start = State("3.8", None, (Dep(("tflike",), ("tflike",)),))
    rs, _ = search(start, releases, lambda py, env: Verdict(Kind.SUCCESS), lookup={},
                   imports={"tflike"}, pythons=("3.8", "3.7"),
                   validator=Dated(releases, lambda py, env: Verdict(Kind.SUCCESS)))
    out = rs.run()
    assert out.verdict is not None and out.verdict.kind is Kind.SUCCESS
    # 2021 first (still failing), then 2019 on that era's Python
    assert (out.state.as_of, out.state.python) == (dt.date(2019, 6, 1), "3.7")
    assert [s["move"] for s in out.steps] == ["start", "era", "era"]
