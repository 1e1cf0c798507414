"""Final minimisation and the exact logic it rests on."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from driftdoc.algorithms.logic import count, covered, equivalent, normalise, predicate_for, sample
from driftdoc.algorithms.minimize import drop_literals, drop_subsumed, merge, minimize
from driftdoc.algorithms.probe import Prober
from driftdoc.algorithms.testing import MemoryEvaluator
from driftdoc.model import Conjunction, Predicate, Space

SPACE = Space.from_dict({
    "x": ["a", "b"],
    "y": [0, 1, 2, 3, 4, 5],
    "z": ["u", "v", "w"],
})


def C(*preds: tuple[str, str, object]) -> Conjunction:
    return Conjunction(Predicate(p, o, v) for p, o, v in preds)  # type: ignore[arg-type]


def test_merge_two_valued_parameter_drops_it() -> None:
    causes = [C(("x", "==", "a"), ("z", "==", "u")), C(("x", "==", "b"), ("z", "==", "u"))]
    assert minimize(SPACE, causes) == [C(("z", "==", "u"))]


def test_merge_complementary_thresholds() -> None:
    causes = [C(("y", "<", 3), ("z", "==", "v")), C(("y", ">=", 3), ("z", "==", "v"))]
    assert minimize(SPACE, causes) == [C(("z", "==", "v"))]


def test_merge_adjacent_ranges_into_one_threshold() -> None:
    causes = [C(("y", "<", 2)), C(("y", "==", 2))]
    assert merge(SPACE, causes) == [C(("y", "<", 3))]


def test_subsumed_cause_is_removed() -> None:
    causes = [C(("z", "==", "u")), C(("z", "==", "u"), ("y", ">=", 4))]
    assert drop_subsumed(SPACE, causes) == [C(("z", "==", "u"))]


def test_literal_dropped_when_others_cover_the_rest() -> None:
    # (z == u AND y < 3) OR (y >= 3): the y-literal of the first is redundant
    causes = [C(("z", "==", "u"), ("y", "<", 3)), C(("y", ">=", 3))]
    out = minimize(SPACE, causes)
    assert equivalent(SPACE, [list(c) for c in out], [list(c) for c in causes])
    assert C(("z", "==", "u")) in out


def test_literal_kept_when_a_known_success_needs_it() -> None:
    truth = C(("z", "==", "u"), ("y", "<", 3))
    inst = SPACE.instance({"x": "a", "y": 4, "z": "u"})
    ev = MemoryEvaluator(SPACE, lambda i: not truth.holds(i), budget=0, history={inst: True})
    prober = Prober(ev)
    assert drop_literals(SPACE, [truth], prober) == [truth]


def test_literal_dropped_after_confirming_runs_within_budget() -> None:
    truth = C(("z", "==", "u"))
    ev = MemoryEvaluator(SPACE, lambda i: not truth.holds(i), budget=10)
    prober = Prober(ev)
    out = drop_literals(SPACE, [C(("z", "==", "u"), ("x", "==", "a"))], prober)
    assert out == [truth]
    assert ev.runs <= 10


def test_normalise_and_predicate_for() -> None:
    y = SPACE["y"]
    assert predicate_for(y, frozenset({0, 1})) == Predicate("y", "<", 2)
    assert predicate_for(y, frozenset({4, 5})) == Predicate("y", ">=", 4)
    assert predicate_for(y, frozenset({2})) == Predicate("y", "==", 2)
    assert predicate_for(y, frozenset({0, 1, 2, 3, 5})) == Predicate("y", "!=", 4)
    assert predicate_for(y, frozenset({1, 3})) is None
    assert normalise(SPACE, [Predicate("y", ">=", 2), Predicate("y", "<", 3)]) == C(("y", "==", 2))
    assert normalise(SPACE, [Predicate("y", ">=", 4), Predicate("y", "<", 3)]) is None


_pred = st.one_of(
    st.builds(Predicate, st.just("x"), st.sampled_from(["==", "!="]), st.sampled_from(["a", "b"])),
    st.builds(Predicate, st.just("y"), st.sampled_from(["==", "!=", "<", ">="]),
              st.integers(0, 5)),
    st.builds(Predicate, st.just("z"), st.sampled_from(["==", "!="]),
              st.sampled_from(["u", "v", "w"])),
)
_dnf = st.lists(st.lists(_pred, min_size=1, max_size=3), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(_dnf, _dnf)
def test_count_matches_enumeration(a: list[list[Predicate]], b: list[list[Predicate]]) -> None:
    def holds(dnf: list[list[Predicate]], i: object) -> bool:
        return any(all(p.holds(i) for p in c) for c in dnf)  # type: ignore[arg-type]

    brute = sum(1 for i in SPACE if holds(a, i) and not holds(b, i))
    assert count(SPACE, [a, b], lambda v: v[0] and not v[1]) == brute
    assert covered(SPACE, a[0], b) == all(holds(b, i) for i in SPACE if holds([a[0]], i))


@settings(max_examples=40, deadline=None)
@given(_dnf)
def test_minimize_preserves_meaning(dnf: list[list[Predicate]]) -> None:
    causes = [c for c in (normalise(SPACE, c) for c in dnf) if c is not None]
    out = minimize(SPACE, causes)
    assert equivalent(SPACE, [list(c) for c in out], [list(c) for c in causes])
    for c in out:  # no cause is implied by the others
        others = [list(d) for d in out if d != c]
        assert not others or not covered(SPACE, list(c), others)


def test_sample_respects_constraints() -> None:
    import random

    rng = random.Random(1)
    avoid = [C(("x", "==", "a")), C(("z", "!=", "w"))]
    for _ in range(20):
        inst = sample(SPACE, rng, within=[Predicate("y", ">=", 3)], avoid=avoid)
        assert inst is not None
        assert inst["y"] >= 3 and inst["x"] == "b" and inst["z"] == "w"  # type: ignore[operator]
    assert sample(SPACE, rng, avoid=[C()]) is None


def test_exact_cover_finds_fewer_primes() -> None:
    from driftdoc.algorithms.minimize import exact_cover

    # y in {0,1} or y in {2,3} when z == u, plus y < 2 everywhere: two primes suffice
    causes = [C(("y", "<", 2)), C(("y", "==", 2), ("z", "==", "u")),
              C(("y", "==", 3), ("z", "==", "u"))]
    out = exact_cover(SPACE, causes)
    assert out is not None
    assert equivalent(SPACE, [list(c) for c in out], [list(c) for c in causes])
    assert sorted(c.text() for c in out) == ["y < 2", "y < 4 AND z == u"]
    assert minimize(SPACE, causes) == sorted(out, key=lambda c: (len(c), c.text()))


@settings(max_examples=40, deadline=None)
@given(_dnf)
def test_exact_cover_preserves_meaning_and_is_no_larger(dnf: list[list[Predicate]]) -> None:
    from driftdoc.algorithms.minimize import exact_cover

    causes = [c for c in (normalise(SPACE, c) for c in dnf) if c is not None]
    out = exact_cover(SPACE, causes)
    if out is None:
        return
    assert equivalent(SPACE, [list(c) for c in out], [list(c) for c in causes])
    assert len(out) <= len(set(causes))
