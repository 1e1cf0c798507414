"""Debugging decision trees and the isolate / identify / confirm steps of DDT."""

from __future__ import annotations

import math
import random

import pytest

from driftdoc.algorithms.ddt import ddt
from driftdoc.algorithms.explain import confirm, explain, identify, isolate, opposite
from driftdoc.algorithms.probe import Prober
from driftdoc.algorithms.testing import MemoryEvaluator
from driftdoc.algorithms.tree import build, entropy, failing_paths
from driftdoc.model import Conjunction, Instance, Predicate, Space


def test_entropy_uses_real_division() -> None:
    assert entropy(2, 2) == pytest.approx(1.0)
    assert entropy(1, 3) == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)))
    assert entropy(0, 5) == 0.0 and entropy(5, 0) == 0.0 and entropy(0, 0) == 0.0


def test_tree_splits_on_unobserved_threshold_and_counts_once() -> None:
    space = Space.from_dict({"lr": list(range(10)), "opt": ["a", "b", "c"]})
    data = {space.instance({"lr": 0, "opt": "a"}): False,
            space.instance({"lr": 1, "opt": "b"}): False,
            space.instance({"lr": 8, "opt": "a"}): True,
            space.instance({"lr": 9, "opt": "c"}): True}
    tree = build(space, data)
    assert (tree.fails, tree.passes) == (2, 2)
    paths = failing_paths(tree)
    assert len(paths) == 1
    (pred,) = paths[0][0]
    # observed gap is between 1 and 8; the threshold sits on a value never run
    assert pred == Predicate("lr", ">=", 5)


def test_tree_on_categorical_equality() -> None:
    space = Space.from_dict({"opt": ["a", "b", "c", "d"], "x": [1, 2]})
    data = {i: i["opt"] == "c" for i in space}
    paths = failing_paths(build(space, data))
    assert [c for c, _ in paths] == [Conjunction([Predicate("opt", "==", "c")])]


SPACE = Space.from_dict({
    "a": list(range(16)),
    "b": ["x", "y", "z", "w", "v"],
    "c": [0.1, 0.2, 0.4, 0.8, 1.6, 3.2],
    "d": ["p", "q", "r"],
})


@pytest.mark.parametrize("truth", [
    Conjunction([Predicate("a", ">=", 11)]),
    Conjunction([Predicate("a", "<", 5), Predicate("b", "!=", "z")]),
    Conjunction([Predicate("b", "==", "y"), Predicate("c", ">=", 0.8)]),
    Conjunction([Predicate("a", "!=", 7), Predicate("d", "==", "q"), Predicate("c", "<", 0.4)]),
])
def test_explain_finds_the_exact_cause(truth: Conjunction) -> None:
    ev = MemoryEvaluator(SPACE, lambda i: not truth.holds(i), budget=200)
    prober = Prober(ev)
    rng = random.Random(0)
    x = next(i for i in SPACE if truth.holds(i))
    prober.ask([x])
    s = opposite(prober, x, rng)
    assert not truth.holds(s)
    cause, y, ok = explain(prober, x, s, rng)
    assert ok
    assert cause == truth
    assert truth.holds(y)


def test_identify_bisects_thresholds() -> None:
    space = Space.from_dict({"n": list(range(64)), "m": ["a", "b"]})
    truth = Conjunction([Predicate("n", "<", 37)])
    ev = MemoryEvaluator(space, lambda i: not truth.holds(i), budget=100)
    prober = Prober(ev)
    base = space.instance({"n": 0, "m": "a"})
    s = space.instance({"n": 63, "m": "a"})
    prober.ask([base, s])
    before = ev.runs
    assert identify(prober, base, ["n"], s) == truth
    assert ev.runs - before <= 9  # about log2(64) + the == / != checks


def test_isolate_finds_the_needed_parameters() -> None:
    names = [f"p{i}" for i in range(12)]
    space = Space.from_dict({n: [0, 1, 2] for n in names})
    truth = Conjunction([Predicate("p3", "==", 1), Predicate("p9", "==", 1)])
    ev = MemoryEvaluator(space, lambda i: not truth.holds(i), budget=100)
    prober = Prober(ev)
    x = space.instance(dict.fromkeys(names, 1))
    s = space.instance(dict.fromkeys(names, 0))
    prober.ask([x, s])
    assert sorted(isolate(prober, x, s)) == ["p3", "p9"]
    assert ev.runs <= 2 + 2 * (math.ceil(math.log2(12)) + 2)


def test_confirm_adds_a_literal_the_success_hid() -> None:
    # the success s has d == "p", satisfying the truth's d-literal, so isolation misses it
    truth = Conjunction([Predicate("b", "==", "y"), Predicate("d", "!=", "r")])
    ev = MemoryEvaluator(SPACE, lambda i: not truth.holds(i), budget=200)
    prober = Prober(ev)
    rng = random.Random(0)
    x = SPACE.instance({"a": 3, "b": "y", "c": 0.1, "d": "q"})
    s = SPACE.instance({"a": 3, "b": "x", "c": 0.1, "d": "p"})
    prober.ask([x, s])
    cause, _, ok = explain(prober, x, s, rng)
    assert ok and cause == truth
    narrow = Conjunction([Predicate("b", "==", "y")])
    fixed, _, ok = confirm(prober, narrow, x, rng)
    assert ok and fixed == truth


def test_ddt_find_all_two_clauses_exact() -> None:
    t1 = Conjunction([Predicate("a", ">=", 12), Predicate("d", "==", "q")])
    t2 = Conjunction([Predicate("b", "==", "w"), Predicate("c", "<", 0.4)])

    def ok(i: Instance) -> bool:
        return not (t1.holds(i) or t2.holds(i))

    history = {SPACE.instance({"a": 13, "b": "x", "c": 3.2, "d": "q"}): False,
               SPACE.instance({"a": 2, "b": "w", "c": 0.1, "d": "p"}): False}
    ev = MemoryEvaluator(SPACE, ok, budget=200, history=history)
    result = ddt(ev, mode="all")
    assert result.status == "found"
    assert set(result.causes) == {t1, t2}
    assert ev.runs <= 150


def test_ddt_without_history_uses_the_initial_design() -> None:
    truth = Conjunction([Predicate("c", ">=", 1.6), Predicate("d", "!=", "p")])
    ev = MemoryEvaluator(SPACE, lambda i: not truth.holds(i), budget=200)
    result = ddt(ev, mode="one")
    assert result.causes == [truth]


def test_ddt_partial_answer_when_budget_runs_out() -> None:
    truth = Conjunction([Predicate("c", ">=", 1.6), Predicate("d", "!=", "p")])
    history = {SPACE.instance({"a": 1, "b": "x", "c": 3.2, "d": "q"}): False}
    ev = MemoryEvaluator(SPACE, lambda i: not truth.holds(i), budget=4, history=history)
    result = ddt(ev, mode="all")
    assert result.status == "budget-exhausted"
    assert ev.runs <= 4 and ev.refused == 0
    assert "budget" in result.message
