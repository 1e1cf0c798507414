"""Searching outside the causes found, before claiming there are no others.

Two kinds of rows, both violating every known cause: a pairwise covering design
restricted to the region outside the causes (every pair of values possible there
appears in a run, so a further cause of one or two literals cannot be missed), and
uniform random draws from that region (what "a cause covering at least p of it
would have been seen with 95 % probability" rests on). The design is built greedily,
then compacted (``compact``): each row it saves is one run fewer, and it is the
largest single expense of a find-all search.
"""

from __future__ import annotations

import itertools
import math
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

    wanted = set(todo)
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
    target = {p for r in rows for p in pairs_of(space, r) if p in wanted}
    return compact(space, rows, target, causes, rng)


def _changed_pairs(row: list[int], cells: Sequence[int]) -> set[Pair]:
    """The pairs of ``row`` that involve any of the parameters in ``cells``."""
    out: set[Pair] = set()
    for c in cells:
        for j in range(len(row)):
            if j != c:
                a, b = (c, j) if c < j else (j, c)
                out.add((a, row[a], b, row[b]))
    return out


def compact(space: Space, rows: list[Instance], target: set[Pair],
            causes: Sequence[Conjunction], rng: random.Random,
            effort: int = 3000, tries: int = 8) -> list[Instance]:
    """``rows`` with as many rows removed as a local search can afford, still covering
    every pair of ``target`` they cover and still outside every cause.

    Greedy designs end with rows that each add a few pairs. Repeatedly the row holding
    the fewest pairs no other row holds is dropped and those pairs are moved into the
    other rows: a move sets an uncovered pair's two values in one of ``tries`` random
    rows, the best of them by pairs gained minus pairs lost, a worse one accepted with
    a small probability (simulated annealing). A drop stands only when every pair is
    covered again within ``effort`` moves; the first that fails ends the search.
    Deterministic for a given ``rng``; bounded work (at most ``effort`` moves per row).
    """
    k = len(space.parameters)
    names = space.names
    # each cause as (parameter position, value indices where its literal holds)
    masks = [[(names.index(p.param),
               frozenset(i for i, v in enumerate(space[p.param].values) if p.holds({p.param: v})))
              for p in c] for c in causes]

    def free(row: list[int]) -> bool:
        return not any(all(row[pos] in ok for pos, ok in m) for m in masks)

    current = [list(space.indices(r)) for r in rows]
    target = {p for r in rows for p in pairs_of(space, r) if p in target}

    def held(row: list[int]) -> list[Pair]:
        return [p for a, b in itertools.combinations(range(k), 2)
                if (p := (a, row[a], b, row[b])) in target]

    while len(current) > 1:
        count = dict.fromkeys(target, 0)
        for r in current:
            for p in held(r):
                count[p] += 1
        unique = [sum(1 for p in held(r) if count[p] == 1) for r in current]
        drop = min(range(len(current)), key=lambda i: (unique[i], i))
        trial = [list(r) for i, r in enumerate(current) if i != drop]
        for p in held(current[drop]):
            count[p] -= 1
        uncovered = {p for p, c in count.items() if c == 0}
        moves = 0
        while uncovered and moves < effort:
            moves += 1
            pool = sorted(uncovered) if len(uncovered) <= 64 else [min(uncovered)]
            a, va, b, vb = pool[rng.randrange(len(pool))]
            best: tuple[int, int, list[int], set[Pair], set[Pair]] | None = None
            for ri in rng.sample(range(len(trial)), min(tries, len(trial))):
                old = trial[ri]
                new = list(old)
                new[a], new[b] = va, vb
                if new == old or not free(new):
                    continue
                before = {p for p in _changed_pairs(old, (a, b)) if p in target}
                after = {p for p in _changed_pairs(new, (a, b)) if p in target}
                lost, gained = before - after, after - before
                delta = sum(1 for p in gained if count[p] == 0) \
                    - sum(1 for p in lost if count[p] == 1)
                if best is None or delta > best[0]:
                    best = (delta, ri, new, lost, gained)
            if best is None:
                continue
            delta, ri, new, lost, gained = best
            if delta < 0 and rng.random() >= math.exp(2 * delta):
                continue
            for p in lost:
                count[p] -= 1
                if count[p] == 0:
                    uncovered.add(p)
            for p in gained:
                count[p] += 1
                uncovered.discard(p)
            trial[ri] = new
        if uncovered:
            break
        current = trial
    out: list[Instance] = []
    for r in current:
        inst = space.from_indices(r)
        if inst not in out:
            out.append(inst)
    return out
