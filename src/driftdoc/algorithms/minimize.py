"""Final minimisation of a disjunction of causes.

1. Drop a literal while the cause stays definitive: kept when a known success
   satisfies the rest; dropped for free when the extra region it would add is
   already covered by the other causes (decided exactly); otherwise decided by a
   few confirming runs within the budget, or kept when there is no budget.
2. Remove causes covered by the union of the others (exact).
3. Merge causes that differ on one parameter only when the union of their value
   sets is one predicate or everything (``x == a AND y`` + ``x == b AND y`` over a
   two-valued x gives ``y``; ``x < 3`` + ``x >= 3`` drops x).
Steps repeat until nothing changes; then, when the problem is small, an exact
Quine–McCluskey-style cover over the literal atoms (``exact_cover``) replaces
the result if it needs fewer causes or literals.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from typing import Any

from driftdoc.algorithms.explain import coverage_design
from driftdoc.algorithms.logic import allowed, covered, normalise, predicate_for, value_set
from driftdoc.algorithms.probe import Exhausted, Prober, Verdict
from driftdoc.model import Conjunction, Op, Parameter, Predicate, Space


def _key(c: Conjunction) -> tuple[int, str]:
    return (len(c), c.text())


def _dedupe(causes: Sequence[Conjunction]) -> list[Conjunction]:
    out: list[Conjunction] = []
    for c in causes:
        if c not in out:
            out.append(c)
    return out


def drop_literals(
    space: Space,
    causes: list[Conjunction],
    prober: Prober | None = None,
    rng: random.Random | None = None,
    max_runs: int = 8,
) -> list[Conjunction]:
    """Remove literals that are not needed for a cause to stay definitive."""
    rng = rng or random.Random(0)
    result = list(causes)
    for i in range(len(result)):
        cause = result[i]
        for lit in cause.sorted(space.names):
            if lit not in cause:
                continue
            rest = Conjunction(cause - {lit})
            if prober is not None and any(rest.holds(p) for p in prober.passing()):
                continue
            others = [list(c) for j, c in enumerate(result) if j != i]
            extra = [*rest, lit.negate()]
            if covered(space, extra, others):
                cause = rest
                continue
            if prober is None or prober.exhausted:
                continue
            region = Conjunction(extra)
            if not all(allowed(space, region, p.param) for p in region):
                cause = rest
                continue
            design = coverage_design(prober, region, rng, limit=max_runs)
            rem = prober.remaining
            if rem is not None and len([d for d in design if d not in prober.cache]) > rem:
                continue
            try:
                verdicts = prober.judge(design)
            except Exhausted:
                continue
            if design and all(v is not Verdict.PASS for v in verdicts):
                cause = rest
        result[i] = cause
    return result


def drop_subsumed(space: Space, causes: list[Conjunction]) -> list[Conjunction]:
    """Remove causes implied by the union of the others, most specific first."""
    result = sorted(causes, key=_key, reverse=True)
    i = 0
    while i < len(result):
        others = [list(c) for j, c in enumerate(result) if j != i]
        if others and covered(space, list(result[i]), others):
            del result[i]
        else:
            i += 1
    return sorted(result, key=_key)


def _merge_pair(space: Space, a: Conjunction, b: Conjunction) -> Conjunction | None:
    params = {p.param for p in a} | {p.param for p in b}
    differing = []
    for name in params:
        la = frozenset(p for p in a if p.param == name)
        lb = frozenset(p for p in b if p.param == name)
        if la != lb:
            differing.append(name)
    if len(differing) != 1:
        return None
    (name,) = differing
    union = allowed(space, list(a), name) | allowed(space, list(b), name)
    rest = [p for p in a if p.param != name]
    if len(union) == len(space[name]):
        return Conjunction(rest)
    single = predicate_for(space[name], union)
    if single is None:
        return None
    return Conjunction([*rest, single])


def merge(space: Space, causes: list[Conjunction]) -> list[Conjunction]:
    """Merge pairs of causes differing on one parameter when one predicate covers both."""
    result = list(causes)
    changed = True
    while changed:
        changed = False
        for i in range(len(result)):
            for j in range(i + 1, len(result)):
                m = _merge_pair(space, result[i], result[j])
                if m is not None:
                    result = [c for k, c in enumerate(result) if k not in (i, j)] + [m]
                    changed = True
                    break
            if changed:
                break
    return result


def _all_predicates(param: Parameter) -> list[Predicate]:
    ops: tuple[Op, ...] = ("==", "!=", "<", ">=") if param.ordered else ("==", "!=")
    return [Predicate(param.name, op, v) for op in ops for v in param.values]


def exact_cover(
    space: Space, causes: Sequence[Conjunction], max_cells: int = 20_000, max_primes: int = 400
) -> list[Conjunction] | None:
    """A minimum disjunction of prime causes equal to the union of ``causes``.

    Quine–McCluskey over multi-valued atoms: each involved parameter's values
    are split into the classes the literals distinguish; a candidate cause
    gives each parameter a set of classes expressible as one predicate (or all
    of them); primes are the maximal candidates inside the union, and the
    fewest primes covering every failing cell are chosen (exactly when there
    are few primes, greedily otherwise). ``None`` when the problem is too big.
    """
    involved = [n for n in space.names if any(p.param == n for c in causes for p in c)]
    if not causes or not involved:
        return None
    classes: dict[str, list[frozenset[int]]] = {}
    options: dict[str, list[frozenset[int]]] = {}
    for name in involved:
        param = space[name]
        sets = [value_set(param, p) for c in causes for p in c if p.param == name]
        groups: dict[frozenset[int], set[int]] = {}
        for i in range(len(param)):
            sig = frozenset(k for k, vs in enumerate(sets) if i in vs)
            groups.setdefault(sig, set()).add(i)
        cls = [frozenset(g) for g in groups.values()]
        classes[name] = cls
        opts: set[frozenset[int]] = {frozenset(range(len(cls)))}
        for pred in _all_predicates(param):
            vs = value_set(param, pred)
            ids = frozenset(k for k, c in enumerate(cls) if c <= vs)
            if ids and sum(len(cls[k]) for k in ids) == len(vs):
                opts.add(ids)
        options[name] = sorted(opts, key=lambda o: (len(o), sorted(o)))
    n_cells = 1
    for name in involved:
        n_cells *= len(classes[name])
    if n_cells > max_cells:
        return None

    def cause_box(c: Conjunction) -> tuple[frozenset[int], ...]:
        box = []
        for name in involved:
            allowed_ix = allowed(space, c, name)
            box.append(frozenset(k for k, cl in enumerate(classes[name]) if cl <= allowed_ix))
        return tuple(box)

    boxes = [cause_box(c) for c in causes]
    failing = {cell for b in boxes for cell in itertools.product(*b)}
    if not failing:
        return []

    def inside(box: tuple[frozenset[int], ...]) -> bool:
        return all(cell in failing for cell in itertools.product(*box))

    primes: set[tuple[frozenset[int], ...]] = set()
    seen: set[tuple[frozenset[int], ...]] = set()
    stack = list(boxes)
    while stack:
        box = stack.pop()
        if box in seen:
            continue
        seen.add(box)
        if len(seen) > 20 * max_primes:
            return None
        grown = False
        for pos, name in enumerate(involved):
            for opt in options[name]:
                if len(opt) > len(box[pos]) and box[pos] < opt:
                    bigger = (*box[:pos], opt, *box[pos + 1:])
                    if inside(bigger):
                        grown = True
                        stack.append(bigger)
        if not grown:
            primes.add(box)
            if len(primes) > max_primes:
                return None
    plist = sorted(primes, key=lambda b: sorted(map(sorted, b)))
    covers = [frozenset(itertools.product(*b)) for b in plist]
    chosen = _set_cover(failing, covers)
    out = []
    for k in chosen:
        preds: list[Predicate] = []
        for pos, name in enumerate(involved):
            ids = plist[k][pos]
            if len(ids) == len(classes[name]):
                continue
            vs = frozenset().union(*(classes[name][i] for i in ids))
            single = predicate_for(space[name], vs)
            if single is None:
                return None
            preds.append(single)
        out.append(Conjunction(preds))
    return out


def _set_cover(universe: set[Any], sets: list[frozenset[Any]]) -> list[int]:
    """Fewest sets covering ``universe``: exact for a handful of sets, greedy beyond."""
    greedy: list[int] = []
    left = set(universe)
    while left:
        k = max(range(len(sets)), key=lambda i: len(sets[i] & left))
        greedy.append(k)
        left -= sets[k]
    if len(sets) > 24 or len(greedy) <= 1:
        return greedy
    best = list(greedy)
    order = sorted(range(len(sets)), key=lambda i: -len(sets[i]))

    def search(left: frozenset[Any], picked: list[int]) -> None:
        nonlocal best
        if not left:
            if len(picked) < len(best):
                best = list(picked)
            return
        if len(picked) + 1 >= len(best):
            return
        target = next(iter(left))
        for i in order:
            if target in sets[i]:
                search(left - sets[i], [*picked, i])

    search(frozenset(universe), [])
    return best


def _size(causes: Sequence[Conjunction]) -> tuple[int, int]:
    return (len(causes), sum(len(c) for c in causes))


def minimize(
    space: Space,
    causes: Sequence[Conjunction],
    prober: Prober | None = None,
    rng: random.Random | None = None,
) -> list[Conjunction]:
    """Minimal, non-redundant disjunction equivalent (on the evidence) to ``causes``."""
    current: list[Conjunction] = []
    for c in causes:
        n = normalise(space, [canonical(space, p) for p in c])
        if n is not None:
            current.append(n)
    current = _dedupe(current)
    for _ in range(5):
        before = sorted(current, key=_key)
        current = drop_literals(space, current, prober, rng)
        current = _dedupe(current)
        current = drop_subsumed(space, current)
        current = merge(space, current)
        current = _dedupe(current)
        if sorted(current, key=_key) == before:
            break
    exact = exact_cover(space, current)
    if exact is not None and _size(exact) < _size(current):
        current = exact
    return sorted(current, key=_key)


def canonical(space: Space, pred: Predicate) -> Predicate:
    """The simplest predicate with the same value set (``x < v1`` -> ``x == v0``)."""
    idx = allowed(space, [pred], pred.param)
    single = predicate_for(space[pred.param], idx)
    return single if single is not None else pred
