"""Searching outside the causes found, before claiming there are no others.

Two kinds of rows, both violating every known cause: a pairwise covering design
restricted to the region outside the causes (every pair of values possible there
appears in a run, so a further cause of one or two literals cannot be missed), and
uniform random draws from that region (what "a cause covering at least p of it
would have been seen with 95 % probability" rests on).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence

from driftdoc.model import Conjunction, Instance, Space

Pair = tuple[int, int, int, int]  # (parameter a, value index, parameter b > a, value index)


def outside(inst: Instance, causes: Sequence[Conjunction]) -> bool:
    return not any(c.holds(inst) for c in causes)


def uniform_outside(space: Space, rng: random.Random, causes: Sequence[Conjunction],
                    tries: int = 50) -> Instance | None:
    """A uniform random instance outside every cause (rejection sampling), or None when
    the causes cover nearly everything."""
    for _ in range(tries):
        inst = space.from_indices([rng.randrange(len(p)) for p in space.parameters])
        if outside(inst, causes):
            return inst
    return None


def pairs_of(space: Space, inst: Instance) -> Iterable[Pair]:
    idx = space.indices(inst)
    for a, b in itertools.combinations(range(len(idx)), 2):
        yield (a, idx[a], b, idx[b])


def _implied(space: Space, pair: Pair, causes: Sequence[Conjunction]) -> bool:
    """True when the pair alone satisfies a cause (no instance with it lies outside)."""
    a, va, b, vb = pair
    names = space.names
    probe = {names[a]: space.parameters[a].values[va], names[b]: space.parameters[b].values[vb]}
    return any(all(p.param in probe for p in c) and all(p.holds(probe) for p in c)
               for c in causes)


MAX_PAIRS = 20_000  # larger spaces need more pairwise rows than any budget here allows


def pair_count(space: Space) -> int:
    sizes = [len(p) for p in space.parameters]
    return sum(a * b for a, b in itertools.combinations(sizes, 2))


def affordable(space: Space, remaining: int | None) -> bool:
    """Whether a pairwise design outside the causes fits: few enough pairs, and the
    design's least size (the two largest value lists multiplied) within half the budget."""
    sizes = sorted((len(p) for p in space.parameters), reverse=True)
    if len(sizes) < 2 or pair_count(space) > MAX_PAIRS:
        return False
    return remaining is None or sizes[0] * sizes[1] <= remaining // 2


def missing_pairs(space: Space, known: Iterable[Instance],
                  causes: Sequence[Conjunction]) -> set[Pair]:
    """Pairs of values possible outside the causes that no known instance there shows."""
    sizes = [len(p) for p in space.parameters]
    todo = {(a, va, b, vb) for a, b in itertools.combinations(range(len(sizes)), 2)
            for va in range(sizes[a]) for vb in range(sizes[b])}
    for inst in known:
        if outside(inst, causes):
            todo.difference_update(pairs_of(space, inst))
    return {p for p in todo if not _implied(space, p, causes)}


def repair(space: Space, row: list[int], keep: set[int], causes: Sequence[Conjunction],
           rng: random.Random) -> Instance | None:
    """``row`` changed, away from the parameters in ``keep`` when possible, so that it
    violates every cause; None when that fails."""
    names = space.names
    for _ in range(2 * len(causes) + 2):
        inst = space.from_indices(row)
        hit = next((c for c in causes if c.holds(inst)), None)
        if hit is None:
            return inst
        lits = sorted(hit, key=lambda p: (names.index(p.param) in keep, rng.random()))
        lit = lits[0]
        pos = names.index(lit.param)
        param = space.parameters[pos]
        others = [i for i in range(len(param)) if not lit.holds({lit.param: param.values[i]})]
        if not others:
            return None
        row[pos] = others[rng.randrange(len(others))]
    return None


def pairwise_rows(space: Space, todo: set[Pair], causes: Sequence[Conjunction],
                  rng: random.Random, limit: int, candidates: int = 4) -> list[Instance]:
    """Up to ``limit`` rows outside the causes covering as many of ``todo`` as they can,
    AETG-style; pairs that cannot be placed outside the causes are dropped from ``todo``."""
    sizes = [len(p) for p in space.parameters]
    k = len(sizes)
    rows: list[Instance] = []

    def candidate(a: int, va: int, b: int, vb: int) -> tuple[int, list[int]]:
        row = {a: va, b: vb}
        rest = [i for i in range(k) if i not in row]
        rng.shuffle(rest)
        for i in rest:
            best, score = 0, -1
            first = rng.randrange(sizes[i])
            for off in range(sizes[i]):
                v = (first + off) % sizes[i]
                s = sum(1 for j, vj in row.items()
                        if ((i, v, j, vj) if i < j else (j, vj, i, v)) in todo)
                if s > score:
                    best, score = v, s
            row[i] = best
        full = [row[i] for i in range(k)]
        gain = sum(1 for x, y in itertools.combinations(range(k), 2)
                   if (x, full[x], y, full[y]) in todo)
        return gain, full

    while todo and len(rows) < limit:
        start = min(todo)
        a, va, b, vb = start
        _gain, full = max((candidate(a, va, b, vb) for _ in range(candidates)),
                          key=lambda g: g[0])
        inst = repair(space, full, {a, b}, causes, rng)
        if inst is None or space.indices(inst)[a] != va or space.indices(inst)[b] != vb:
            todo.discard(start)  # not placeable outside the causes this way: give up on it
            if inst is None:
                continue
        todo.difference_update(pairs_of(space, inst))
        if inst not in rows:
            rows.append(inst)
    return rows
