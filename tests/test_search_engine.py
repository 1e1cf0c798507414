"""The engine: budgets, and what counts as progress.

Fake worlds with known ground truth (``support.fakeworld``); moved here, with their
rule, from the search's former single test file.
"""

from __future__ import annotations

from collections.abc import Sequence

from driftdoc.env.search.state import Dep, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from support.fakeworld import Releases, search


def test_unrepairable_drift_stops_within_budget() -> None:
    releases = Releases({"numpy": [f"1.{i}.0" for i in range(10, 25)]})

    def world(py: str, env: dict[str, str]) -> Verdict:
        return Verdict(Kind.DRIFT, exception_name="TypeError", exception_message="nope", line=3,
                       in_package=True, responsible="numpy")

    start = State("3.7", None, (Dep(("numpy",), ("numpy",)),))
    rs, validator = search(start, releases, world, lookup={}, imports={"numpy"}, budget=5)
    out = rs.run()
    assert out.verdict is not None and not out.verdict.ok
    assert len(validator.seen) <= 5 and out.validations <= 5
    assert out.reason and "TypeError" in out.reason
    assert len({a for a in validator.seen}) == len(validator.seen)  # nothing validated twice


def test_losing_the_module_a_name_was_imported_from_is_not_progress() -> None:
    from driftdoc.env.search.engine import moved_on

    before = Verdict(Kind.IMPORT, exception_name="ImportError", line=1,
                     missing_module="django.conf.urls",
                     exception_message="cannot import name 'patterns' from 'django.conf.urls'")
    gone = Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=1,
                   missing_module="django.conf", exception_message="No module named 'django.conf'")
    further = Verdict(Kind.IMPORT, exception_name="ModuleNotFoundError", line=2,
                      missing_module="six", exception_message="No module named 'six'")
    assert not moved_on(before.failure, gone.failure)
    assert moved_on(before.failure, further.failure)


def test_trials_never_run_an_attempt_twice_and_keep_to_the_budget() -> None:
    from driftdoc.env.search.trials import Trials

    ran: list[Attempt] = []

    def evaluate(attempts: Sequence[Attempt]) -> list[Verdict | None]:
        ran.extend(attempts)
        return [Verdict(Kind.SUCCESS) for _ in attempts]

    a, b, c = (Attempt("3.8", (f"p=={i}",)) for i in range(3))
    trials = Trials(evaluate, budget=2, deadline=None)
    assert [v is not None for v in trials.run([a, a, b])] == [True, False, True]
    assert trials.run([a, c]) == [None, None]  # a: tried; c: past the budget
    assert ran == [a, b] and trials.exhausted()


def test_every_situation_orders_known_rules_and_every_rule_is_ordered() -> None:
    from driftdoc.env.search.ordering import ORDER
    from driftdoc.env.search.registry import PROPOSE

    named = {rule for table in ORDER.values() for rules, _ in table for rule in rules}
    assert named == set(PROPOSE)
