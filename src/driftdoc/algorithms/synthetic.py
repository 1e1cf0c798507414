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
# the issue-driven families: rare causes (3 equalities over 6-valued parameters, 1 in
# 216 configurations), 2-3 causes on disjoint parameters, mixed equality/inequality
FAMILIES = ("rare", "multi", "mixed")
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
    return _finish(rng, space, truth, shape, seed)


def _grid(rng: random.Random, k: int, n: int) -> Space:
    """``k`` parameters of ``n`` values each, categorical and ordered mixed at random."""
    params = []
    for i in range(k):
        name = f"p{i}"
        if rng.random() < 0.5:
            params.append(Parameter.of(name, [f"{name}_{chr(97 + j)}" for j in range(n)],
                                       "categorical"))
        else:
            params.append(Parameter.of(name, sorted(rng.sample(range(10 * n), n)), "ordered"))
    return Space(params)


def _mixed_literal(rng: random.Random, param: Parameter, want_order: bool | None) -> Predicate:
    """An ``==``/``!=`` literal, or a threshold on an ordered parameter (kept away from
    the ends so that it excludes at least two values and includes at least two)."""
    n = len(param)
    order = param.ordered and (want_order if want_order is not None else rng.random() < 0.5)
    if order:
        op = rng.choice(("<", ">="))
        return Predicate(param.name, op, param.values[rng.randrange(2, n - 1)])  # type: ignore[arg-type]
    op = "==" if rng.random() < 0.8 else "!="
    return Predicate(param.name, op, param.values[rng.randrange(n)])  # type: ignore[arg-type]


def generate_family(family: str, seed: int) -> Problem:
    """A reproducible problem of one of ``FAMILIES``.

    * ``rare``: 10 parameters x 6 values, one cause of three ``==`` literals (1 in 216);
    * ``multi``: 12 x 6, two or three causes of 1-3 literals on disjoint parameters,
      equalities and thresholds mixed;
    * ``mixed``: 12 x 6, one cause of 2-3 literals with at least one ``==``/``!=``
      and at least one threshold.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    rng = random.Random(f"{family}-{seed}")
    while True:
        if family == "rare":
            space = _grid(rng, 10, 6)
            params = rng.sample(list(space.parameters), 3)
            truth = [Conjunction(Predicate(p.name, "==", p.values[rng.randrange(6)])
                                 for p in params)]
        elif family == "multi":
            space = _grid(rng, 12, 6)
            pool = list(space.parameters)
            rng.shuffle(pool)
            truth = []
            for _ in range(rng.randint(2, 3)):
                size = rng.choice((1, 2, 2, 3, 3))
                chosen, pool = pool[:size], pool[size:]
                truth.append(Conjunction(_mixed_literal(rng, p, None) for p in chosen))
        else:
            space = _grid(rng, 12, 6)
            ordered = [p for p in space.parameters if p.ordered]
            others = [p for p in space.parameters if p not in ordered]
            if not ordered or not others:
                continue
            size = rng.randint(2, 3)
            first = rng.choice(ordered)
            second = rng.choice(others)
            rest = rng.sample([p for p in space.parameters if p not in (first, second)],
                              size - 2)
            truth = [Conjunction([_mixed_literal(rng, first, True),
                                  _mixed_literal(rng, second, False),
                                  *(_mixed_literal(rng, p, None) for p in rest)])]
        # a lone single-literal cause covering most of the space is not a debugging problem
        if degenerate(space, truth) is None:
            break
    return _finish(rng, space, truth, family, seed)


def _finish(rng: random.Random, space: Space, truth: list[Conjunction], shape: str,
            seed: int) -> Problem:
    """Witnesses (one failure per clause, satisfying no other when possible) plus three
    random labelled instances; the budget by the size of the space."""
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
