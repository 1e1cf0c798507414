"""Stacked Shortcut: several successes, causes stacked."""

from __future__ import annotations

from driftdoc.algorithms.stacked import stacked
from driftdoc.algorithms.testing import MemoryEvaluator
from driftdoc.model import Conjunction, Instance, Predicate, Space

SPACE = Space.from_dict({f"p{i}": ["a", "b", "c", "d"] for i in range(6)})
T1 = Conjunction([Predicate("p1", "==", "b")])
T2 = Conjunction([Predicate("p3", "==", "c"), Predicate("p4", "==", "d")])


def ok(i: Instance) -> bool:
    return not (T1.holds(i) or T2.holds(i))


def test_stacked_finds_both_equality_causes() -> None:
    w1 = SPACE.instance({"p0": "a", "p1": "b", "p2": "a", "p3": "a", "p4": "a", "p5": "a"})
    w2 = SPACE.instance({"p0": "c", "p1": "c", "p2": "c", "p3": "c", "p4": "d", "p5": "c"})
    ev = MemoryEvaluator(SPACE, ok, budget=100, history={w1: False, w2: False})
    result = stacked(ev, mode="all")
    assert set(result.causes) == {T1, T2}
    assert len(ev.executed) == len(set(ev.executed))
    assert ev.runs <= 100
