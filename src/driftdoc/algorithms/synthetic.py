"""Seeded synthetic debugging problems in the style of BugDoc's evaluation.

A problem is a space of 3–12 parameters (strings, integers, floats; 4–15 values
each), a ground truth (a disjunction of conjunctions over distinct parameters
per clause, ops ``== != < >=``, order ops only on ordered parameters), a budget,
and a starting history: one failing witness per truth clause (satisfying that
clause and, when possible, no other) plus three random instances, labelled by
the truth. History runs are not counted as new runs.

Scores are exact: every question ("is this cause definitive?", "which share of
failures is explained?") is decided by ``logic.count`` over value classes.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from driftdoc.algorithms.logic import count, covered, equivalent, sample
from driftdoc.model import Conjunction, Instance, Parameter, Predicate, Space, Value

SHAPES = ("single", "conjunction", "disjunction")
DENSE = 0.1  # truths under which fewer than 10 % of instances succeed are rejected
SMALL_SPACE = 100_000  # spaces up to this many instances get budget 200, larger ones 500


@dataclass
class Problem:
    """One generated debugging problem."""

    space: Space
    truth: list[Conjunction]
    shape: str
    history: dict[Instance, bool]
    budget: int
    seed: int
    witnesses: list[Instance] = field(default_factory=list)

    def start(self, witnesses: bool = True) -> dict[Instance, bool]:
        """The history to start from: with or without the failing witnesses."""
        if witnesses:
            return dict(self.history)
        return {i: v for i, v in self.history.items() if i not in self.witnesses}

    def fails(self, inst: Instance) -> bool:
        return any(c.holds(inst) for c in self.truth)

    def oracle(self, inst: Instance) -> bool:
        """Succeeded? (the evaluation function of the pipeline)."""
        return not self.fails(inst)


def _parameter(rng: random.Random, i: int) -> Parameter:
    n = rng.randint(4, 15)
    kind = rng.choice(("str", "int", "float"))
    name = f"p{i}"
    values: list[Value]
    if kind == "str":
        values = [f"{name}_{chr(97 + k)}" for k in range(n)]
        return Parameter.of(name, values, "categorical")
    if kind == "int":
        values = sorted(rng.sample(range(0, 10 * n), n))
    else:
        values = sorted({round(rng.uniform(0, 1) * 10 ** rng.randint(0, 3), 4) for _ in range(n)})
        while len(values) < n:
            values = sorted({*values, round(rng.uniform(0, 100), 4)})
    return Parameter.of(name, values, "ordered")


def _literal(rng: random.Random, param: Parameter) -> Predicate:
    n = len(param)
    ops = ["==", "!="] + (["<", ">="] if param.ordered else [])
    op = rng.choice(ops)
    if op in ("==", "!="):
        return Predicate(param.name, op, param.values[rng.randrange(n)])  # type: ignore[arg-type]
    return Predicate(param.name, op, param.values[rng.randrange(1, n)])  # type: ignore[arg-type]


def _clause(rng: random.Random, space: Space, size: int) -> Conjunction:
    params = rng.sample(list(space.parameters), min(size, len(space)))
    return Conjunction(_literal(rng, p) for p in params)


def degenerate(space: Space, truth: Sequence[Conjunction]) -> str | None:
    """Why a truth is unfit for scoring (covers everything, or a redundant clause)."""
    clauses = [list(c) for c in truth]
    passing = count(space, [clauses], lambda v: not v[0])
    if passing == 0:
        return "the truth covers the whole space"
    if passing < DENSE * space.size:
        return f"fewer than {DENSE:.0%} of the instances succeed"
    for i, c in enumerate(clauses):
        others = [d for j, d in enumerate(clauses) if j != i]
        if others and covered(space, c, others):
            return f"clause {i} is implied by the others"
    return None


def generate(seed: int, shape: str | None = None) -> Problem:
    """A reproducible problem; ``shape`` in SHAPES (default: by seed)."""
    rng = random.Random(seed)
    shape = shape or SHAPES[seed % len(SHAPES)]
    while True:
        space = Space(_parameter(rng, i) for i in range(rng.randint(3, 12)))
        if shape == "single":
            truth = [_clause(rng, space, 1)]
        elif shape == "conjunction":
            truth = [_clause(rng, space, rng.randint(2, 3))]
        else:
            truth = [_clause(rng, space, rng.randint(1, 3)) for _ in range(rng.randint(2, 4))]
        if degenerate(space, truth) is None:
            break
    history: dict[Instance, bool] = {}
    witnesses: list[Instance] = []
    for i, clause in enumerate(truth):
        others = [c for j, c in enumerate(truth) if j != i]
        w = sample(space, rng, within=list(clause), avoid=others)
        if w is None:
            w = sample(space, rng, within=list(clause))
        assert w is not None
        history[w] = False
        witnesses.append(w)
    for _ in range(3):
        inst = space.from_indices([rng.randrange(len(p)) for p in space.parameters])
        history[inst] = not any(c.holds(inst) for c in truth)
    budget = 200 if space.size <= SMALL_SPACE else 500
    return Problem(space, truth, shape, history, budget, seed, witnesses)


@dataclass
class Score:
    precision: float
    recall: float
    f1: float
    exact: bool
    minimal: bool
    definitive_all: bool


def _definitive(space: Space, cause: Conjunction, truth: list[list[Predicate]]) -> bool:
    return covered(space, list(cause), truth)


def _minimal(space: Space, cause: Conjunction, truth: list[list[Predicate]]) -> bool:
    return all(not _definitive(space, Conjunction(cause - {lit}), truth) for lit in cause)


def score(space: Space, truth: Sequence[Conjunction], causes: Sequence[Conjunction]) -> Score:
    """Exact precision, recall, F1, exactness and minimality of asserted ``causes``."""
    t = [list(c) for c in truth]
    good = [c for c in causes if _definitive(space, c, t)]
    precision = len(good) / len(causes) if causes else 0.0
    failing = count(space, [t], lambda v: v[0])
    explained = count(space, [t, [list(c) for c in good]], lambda v: v[0] and v[1])
    recall = explained / failing if failing else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    exact = bool(causes) and equivalent(space, t, [list(c) for c in causes])
    minimal = all(_minimal(space, c, t) for c in good)
    return Score(precision, recall, f1, exact, minimal, bool(causes) and len(good) == len(causes))
