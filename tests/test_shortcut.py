"""Shortcut: substitution of a success's values into a failure (BugDoc), with the fixes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from driftdoc.algorithms.probe import Prober
from driftdoc.algorithms.shortcut import shortcut, substitute
from driftdoc.algorithms.testing import MemoryEvaluator
from driftdoc.model import Conjunction, Instance, Predicate, Space, Value

SPACE = Space.from_dict({f"p{i}": ["a", "b", "c"] for i in range(8)})
TRUTH = Conjunction([Predicate("p2", "==", "b"), Predicate("p6", "==", "c")])


def ok(i: Instance) -> bool:
    return not TRUTH.holds(i)


def test_substitute_keeps_only_the_needed_failing_values() -> None:
    ev = MemoryEvaluator(SPACE, ok)
    prober = Prober(ev)
    x = SPACE.instance({f"p{i}": "b" if i != 6 else "c" for i in range(8)})
    s = SPACE.instance(dict.fromkeys(SPACE.names, "a"))
    prober.ask([x, s])
    assert substitute(prober, x, s) == TRUTH
    assert ev.runs == 2 + 8  # one run per differing parameter, nothing repeated


def test_substitution_phase_respects_the_budget() -> None:
    x = SPACE.instance({f"p{i}": "b" if i != 6 else "c" for i in range(8)})
    s = SPACE.instance(dict.fromkeys(SPACE.names, "a"))
    ev = MemoryEvaluator(SPACE, ok, budget=3, history={x: False, s: True})
    result = shortcut(ev, mode="one")
    assert ev.runs == 3 and ev.refused == 0
    assert result.status == "budget-exhausted"


def test_causes_name_parameters() -> None:
    x = SPACE.instance({f"p{i}": "b" if i != 6 else "c" for i in range(8)})
    ev = MemoryEvaluator(SPACE, ok, budget=60, history={x: False})
    result = shortcut(ev, mode="all")
    assert result.causes == [TRUTH]
    assert all(p.param in SPACE.names for c in result.causes for p in c)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_shortcut_recovers_equality_conjunctions(data: st.DataObject) -> None:
    from driftdoc.algorithms.registry import get

    sizes = data.draw(st.lists(st.integers(2, 6), min_size=1, max_size=7))
    space = Space.from_dict({f"q{i}": [f"v{i}_{k}" for k in range(n)]
                             for i, n in enumerate(sizes)})
    names = data.draw(st.lists(st.sampled_from(space.names), min_size=1, max_size=3,
                               unique=True))
    truth = Conjunction(Predicate(n, "==", data.draw(st.sampled_from(space[n].values)))
                        for n in names)
    witness = space.instance({n: truth_value(truth, n) or space[n].values[0]
                              for n in space.names})
    for algorithm in ("shortcut", "stacked"):
        ev = MemoryEvaluator(space, lambda i: not truth.holds(i), budget=100,
                             history={witness: False})
        result = get(algorithm)(ev, mode="one")
        assert result.causes == [truth], algorithm
        assert len(ev.executed) == len(set(ev.executed))


def truth_value(truth: Conjunction, name: str) -> Value | None:
    return next((p.value for p in truth if p.param == name), None)
