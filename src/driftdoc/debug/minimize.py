"""Final minimisation of a disjunction of causes.

1. Drop a literal while the cause stays definitive: kept when a known success
   satisfies the rest; dropped for free when the extra region it would add is
   already covered by the other causes (decided exactly); otherwise decided by a
   few confirming runs within the budget, or kept when there is no budget.
2. Remove causes covered by the union of the others (exact).
3. Merge causes that differ on one parameter only when the union of their value
   sets is one predicate or everything (``x == a AND y`` + ``x == b AND y`` over a
   two-valued x gives ``y``; ``x < 3`` + ``x >= 3`` drops x).
Steps repeat until nothing changes. This is exact on the literal atoms for the
merges it makes, though not a full Quine–McCluskey search over all covers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from driftdoc.debug.explain import coverage_design
from driftdoc.debug.logic import allowed, covered, normalise, predicate_for
from driftdoc.debug.probe import Exhausted, Prober, Verdict
from driftdoc.model import Conjunction, Predicate, Space


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


def minimize(
    space: Space,
    causes: Sequence[Conjunction],
    prober: Prober | None = None,
    rng: random.Random | None = None,
) -> list[Conjunction]:
    """Minimal, non-redundant disjunction equivalent (on the evidence) to ``causes``."""
    current: list[Conjunction] = []
    for c in causes:
        n = normalise(space, list(c))
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
    return sorted(current, key=_key)


def canonical(space: Space, pred: Predicate) -> Predicate:
    """The simplest predicate with the same value set (``x < v1`` -> ``x == v0``)."""
    idx = allowed(space, [pred], pred.param)
    single = predicate_for(space[pred.param], idx)
    return single if single is not None else pred
