"""Initial designs: pairwise covering arrays and each-value designs."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftdoc.algorithms.design import covers_pairs, each_value, pairwise
from driftdoc.model import Space


def _space(sizes: list[int]) -> Space:
    return Space.from_dict({f"p{i}": [f"v{k}" for k in range(n)] for i, n in enumerate(sizes)})


def test_single_parameter_is_its_value_list() -> None:
    space = Space.from_dict({"a": [3, 1, 2]})
    assert [r["a"] for r in pairwise(space)] == [1, 2, 3]


def test_two_parameters_give_the_full_product() -> None:
    space = _space([3, 4])
    rows = pairwise(space)
    assert len(rows) == 12
    assert set(rows) == set(space)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=7), st.integers(0, 100))
def test_pairwise_covers_every_pair(sizes: list[int], seed: int) -> None:
    space = _space(sizes)
    rows = pairwise(space, seed)
    assert covers_pairs(space, rows)
    assert len(rows) == len(set(rows))
    if len(sizes) >= 2:
        a, b = sorted(sizes)[-2:]
        assert len(rows) >= a * b
        assert len(rows) <= 3 * a * b + 10  # greedy stays near the lower bound


def test_pairwise_is_deterministic_and_leaves_global_random_alone() -> None:
    space = _space([5, 4, 6, 3, 5])
    state = random.getstate()
    first = pairwise(space, seed=7)
    assert random.getstate() == state
    assert pairwise(space, seed=7) == first


def test_pairwise_is_much_smaller_than_the_product() -> None:
    space = _space([4] * 10)
    rows = pairwise(space)
    assert covers_pairs(space, rows)
    assert len(rows) <= 40  # product is 4**10


@pytest.mark.parametrize("sizes", [[1], [3], [2, 5], [4, 4, 7, 2]])
def test_each_value_shows_every_value(sizes: list[int]) -> None:
    space = _space(sizes)
    rows = each_value(space, seed=3)
    assert len(rows) == max(sizes)
    for i, p in enumerate(space.parameters):
        assert {r[p.name] for r in rows} == set(p.values), i


def test_covers_pairs_detects_a_gap() -> None:
    space = _space([2, 2, 2])
    rows = list(space)
    assert covers_pairs(space, rows)
    assert not covers_pairs(space, rows[:3])
    assert list(itertools.islice(pairwise(space), 1))
