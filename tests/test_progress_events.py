"""A long run says which step it is about to validate, then what it said: the CLI's
"validation 5 of ≤ 24: trying ..." line is built from these events."""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from driftdoc.env.search.repair import RepairSearch
from driftdoc.env.search.state import Dep, State, Tried, Trying
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from driftdoc.events import EventLog
from support.fakeworld import Releases

VERSIONS = ["0.17.1", "0.18.2", "0.19.2", "0.20.3", "0.21.0"]


def evaluate(attempts: Sequence[Attempt]) -> list[Verdict | None]:
    out: list[Verdict | None] = []
    for att in attempts:
        version = next((r.partition("==")[2] for r in att.requirements), "") or VERSIONS[-1]
        if Version(version) >= Version("0.20"):
            out.append(Verdict(Kind.IMPORT, pins=[f"skfake=={version}"],
                               exception_name="ModuleNotFoundError",
                               exception_message="No module named 'skfake.cv'",
                               missing_module="skfake.cv", line=1))
        else:
            out.append(Verdict(Kind.SUCCESS, pins=[f"skfake=={version}"], imports_completed=True))
    return out


def test_each_validation_is_announced_before_it_runs() -> None:
    log = EventLog()
    start = State("3.8", None, (Dep(("skfake",), ("skfake",)),))
    search = RepairSearch(start, evaluate=evaluate, releases=Releases({"skfake": VERSIONS}),
                          lookup=lambda m: [], snippet_imports=frozenset({"skfake"}),
                          pythons=("3.8",), budget=10, reporter=log)
    outcome = search.run()
    assert outcome.verdict is not None and outcome.verdict.kind is Kind.SUCCESS
    announced: list[str] = []
    done = 0
    for event in log.events:
        if isinstance(event, Trying):
            announced += event.moves
        elif isinstance(event, Tried):
            assert event.move in announced  # said before it ran
            done += 1
    assert done == outcome.validations >= 2
    assert announced[0] == "the first plan"
