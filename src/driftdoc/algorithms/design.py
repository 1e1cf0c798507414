"""Initial designs: which instances to run before anything is known.

``pairwise`` is a deterministic greedy covering array (AETG-style: each new row
starts from an uncovered pair and fills the other parameters with the value
that covers most uncovered pairs). ``each_value`` is the cheap alternative in
which every value appears at least once (as many rows as the largest parameter
has values). Both take a seed and never touch global random state.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from driftdoc.model import Instance, Space


def each_value(space: Space, seed: int = 0) -> list[Instance]:
    """Rows in which every value of every parameter appears at least once."""
    rng = random.Random(seed)
    orders: list[list[int]] = []
    for p in space.parameters:
        idx = list(range(len(p)))
        rng.shuffle(idx)
        orders.append(idx)
    m = max(len(p) for p in space.parameters)
    rows: list[Instance] = []
    seen: set[Instance] = set()
    for k in range(m):
        inst = space.from_indices([o[k % len(o)] for o in orders])
        if inst not in seen:
            seen.add(inst)
            rows.append(inst)
    return rows


def pairwise(space: Space, seed: int = 0, candidates: int = 8) -> list[Instance]:
    """A covering array of strength 2: every pair of values of two parameters appears.

    One parameter gives its value list; two give their full product.
    """
    return list(iter_pairwise(space, seed, candidates))


def iter_pairwise(space: Space, seed: int = 0, candidates: int = 8) -> Iterator[Instance]:
    """The rows of ``pairwise`` one at a time, so a caller with a small budget
    never pays for building the whole array of a large space."""
    params = space.parameters
    sizes = [len(p) for p in params]
    k = len(params)
    if k == 1:
        yield from (space.from_indices([i]) for i in range(sizes[0]))
        return
    if k == 2:
        yield from (space.from_indices(list(c)) for c in itertools.product(*map(range, sizes)))
        return
    rng = random.Random(seed)
    uncovered: set[tuple[int, int, int, int]] = {
        (a, va, b, vb)
        for a, b in itertools.combinations(range(k), 2)
        for va in range(sizes[a])
        for vb in range(sizes[b])
    }
    in_order = (
        (a, va, b, vb)
        for a, b in itertools.combinations(range(k), 2)
        for va in range(sizes[a])
        for vb in range(sizes[b])
    )
    # AETG keeps the best of several candidate rows; fewer on big spaces, where
    # one candidate already costs k * k * values set lookups
    tries = max(1, min(candidates, 40_000 // (k * k * max(sizes))))

    def candidate(a: int, va: int, b: int, vb: int) -> tuple[int, dict[int, int]]:
        row: dict[int, int] = {a: va, b: vb}
        gained = 1
        rest = [i for i in range(k) if i not in row]
        rng.shuffle(rest)
        for i in rest:
            best_v, best_score = 0, -1
            start = rng.randrange(sizes[i])
            for off in range(sizes[i]):
                v = (start + off) % sizes[i]
                score = 0
                for j, vj in row.items():
                    key = (i, v, j, vj) if i < j else (j, vj, i, v)
                    if key in uncovered:
                        score += 1
                if score > best_score:
                    best_v, best_score = v, score
            row[i] = best_v
            gained += best_score
        return gained, row

    while uncovered:
        # the smallest uncovered pair: pairs are only ever removed, so scan on
        a, va, b, vb = next(p for p in in_order if p in uncovered)
        row = max((candidate(a, va, b, vb) for _ in range(tries)), key=lambda gr: gr[0])[1]
        for i, j in itertools.combinations(range(k), 2):
            uncovered.discard((i, row[i], j, row[j]))
        yield space.from_indices([row[i] for i in range(k)])


def covers_pairs(space: Space, rows: list[Instance]) -> bool:
    """True when ``rows`` contain every pair of values (used by tests)."""
    idx = [space.indices(r) for r in rows]
    k = len(space)
    for a, b in itertools.combinations(range(k), 2):
        need = len(space.parameters[a]) * len(space.parameters[b])
        if len({(r[a], r[b]) for r in idx}) < need:
            return False
    if k == 1:
        return len({r[0] for r in idx}) == len(space.parameters[0])
    return True


def iter_threeway(space: Space, seed: int = 0, candidates: int = 2) -> Iterator[Instance]:
    """Rows of a greedy covering array of strength 3: every triple of values of three
    parameters appears. The escalation after a pairwise design found no failure: a cause
    of three literals (1 in 216 over 6-valued parameters) is met within the array."""
    params = space.parameters
    sizes = [len(p) for p in params]
    k = len(params)
    if k <= 3:
        yield from space
        return
    rng = random.Random(seed)
    w = max(sizes)
    # a triple (a, va) < (b, vb) < (c, vc) is one int: cheap to hash and to build
    stride_b, stride_a = w * k, w * k * w * k

    def code(a: int, va: int, b: int, vb: int, c: int, vc: int) -> int:
        return (a * w + va) * stride_a + (b * w + vb) * stride_b + c * w + vc

    triples = list(itertools.combinations(range(k), 3))
    uncovered = {code(a, va, b, vb, c, vc) for a, b, c in triples
                 for va in range(sizes[a]) for vb in range(sizes[b]) for vc in range(sizes[c])}

    def decode(t: int) -> dict[int, int]:
        ab, cc = divmod(t, stride_b)
        aa, bb = divmod(ab, stride_a // stride_b)
        return {aa // w: aa % w, bb // w: bb % w, cc // w: cc % w}

    def candidate(start: dict[int, int]) -> tuple[int, dict[int, int]]:
        row = dict(start)
        gained = 1
        rest = [i for i in range(k) if i not in row]
        rng.shuffle(rest)
        for i in rest:
            pairs = list(itertools.combinations(sorted(row.items()), 2))
            best_v, best_score = 0, -1
            first = rng.randrange(sizes[i])
            for off in range(sizes[i]):
                v = (first + off) % sizes[i]
                score = 0
                for (j, vj), (m, vm) in pairs:  # j < m
                    if i < j:
                        t = code(i, v, j, vj, m, vm)
                    elif i < m:
                        t = code(j, vj, i, v, m, vm)
                    else:
                        t = code(j, vj, m, vm, i, v)
                    if t in uncovered:
                        score += 1
                if score > best_score:
                    best_v, best_score = v, score
            row[i] = best_v
            gained += best_score
        return gained, row

    while uncovered:
        start = decode(min(uncovered))
        row = max((candidate(start) for _ in range(candidates)), key=lambda gr: gr[0])[1]
        for a, b, c in triples:
            uncovered.discard(code(a, row[a], b, row[b], c, row[c]))
        yield space.from_indices([row[i] for i in range(k)])
