"""Exact reasoning over predicates: value sets, counting, coverage, sampling.

Causes and truths are unions of conjunctions over finite parameters, so questions
such as "does this cause imply failure under these causes?" can be answered
exactly by splitting each parameter's values into the classes the literals
distinguish, without enumerating the (possibly huge) cartesian product.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from driftdoc.model import Conjunction, Instance, Parameter, Predicate, Space, Value

IndexSet = frozenset[int]


def lit_key(pred: Predicate) -> tuple[str, str, str]:
    """A total order on predicates that does not depend on hashing (for determinism)."""
    return (pred.param, pred.op, repr(pred.value))


def value_set(param: Parameter, pred: Predicate) -> IndexSet:
    """Indices of the values of ``param`` that satisfy ``pred``."""
    probe: dict[str, Value] = {}
    out = []
    for i, v in enumerate(param.values):
        probe[param.name] = v
        if pred.holds(probe):
            out.append(i)
    return frozenset(out)


def allowed(space: Space, conj: Conjunction | Sequence[Predicate], name: str) -> IndexSet:
    """Indices of ``name``'s values compatible with every literal of ``conj`` on it."""
    param = space[name]
    result: IndexSet = frozenset(range(len(param)))
    for pred in conj:
        if pred.param == name:
            result &= value_set(param, pred)
    return result


def predicate_for(param: Parameter, indices: IndexSet) -> Predicate | None:
    """The simplest single predicate whose value set is exactly ``indices``.

    ``None`` when no single predicate fits (or the set is empty or everything).
    """
    n = len(param)
    if not indices or len(indices) == n:
        return None
    if len(indices) == 1:
        return Predicate(param.name, "==", param.values[next(iter(indices))])
    if len(indices) == n - 1:
        (missing,) = set(range(n)) - indices
        return Predicate(param.name, "!=", param.values[missing])
    if param.ordered:
        lo, hi = min(indices), max(indices)
        if hi - lo + 1 == len(indices):
            if lo == 0:
                return Predicate(param.name, "<", param.values[hi + 1])
            if hi == n - 1:
                return Predicate(param.name, ">=", param.values[lo])
    return None


def normalise(space: Space, conj: Conjunction | Sequence[Predicate]) -> Conjunction | None:
    """Merge literals on the same parameter; ``None`` when the conjunction is empty.

    Two literals on one parameter become one when a single predicate expresses
    their intersection (otherwise both stay).
    """
    by_param: dict[str, list[Predicate]] = {}
    for pred in conj:
        by_param.setdefault(pred.param, []).append(pred)
    out: list[Predicate] = []
    for name, preds in by_param.items():
        idx = allowed(space, preds, name)
        if not idx:
            return None
        if len(preds) == 1:
            out.append(preds[0])
            continue
        single = predicate_for(space[name], idx)
        if single is not None:
            out.append(single)
        elif len(idx) < len(space[name]):
            out.extend(preds)
    return Conjunction(out)


def _classes(param: Parameter, preds: Sequence[Predicate]) -> list[tuple[int, IndexSet]]:
    """Partition ``param``'s values by membership in each literal's value set.

    Returns (size, representative-membership) pairs, where the membership set is
    the indices of ``preds`` satisfied by that class.
    """
    sets = [value_set(param, p) for p in preds]
    groups: dict[IndexSet, int] = {}
    for i in range(len(param)):
        sig = frozenset(k for k, s in enumerate(sets) if i in s)
        groups[sig] = groups.get(sig, 0) + 1
    return [(size, sig) for sig, size in groups.items()]


Formula = Sequence[Sequence[Predicate]]  # a DNF: any clause whose literals all hold


def count(
    space: Space,
    dnfs: Sequence[Formula],
    combine: Callable[[tuple[bool, ...]], bool],
) -> int:
    """Number of instances on which ``combine(value of each DNF)`` is true, exactly.

    Works parameter by parameter on value classes and stops descending as soon
    as every DNF is decided, so the cost depends on the literals, not on the
    size of the space.
    """
    names = list(space.names)
    involved = {p.param for dnf in dnfs for clause in dnf for p in clause}
    order = [n for n in names if n in involved]
    free = 1
    for n in names:
        if n not in involved:
            free *= len(space[n])

    def decided(
        state: tuple[tuple[tuple[Predicate, ...], ...], ...],
    ) -> tuple[bool, ...] | None:
        vals = []
        for dnf in state:
            if any(not clause for clause in dnf):
                vals.append(True)
            elif not dnf:
                vals.append(False)
            else:
                return None
        return tuple(vals)

    def rec(pos: int, state: tuple[tuple[tuple[Predicate, ...], ...], ...]) -> int:
        done = decided(state)
        rest = 1
        for n in order[pos:]:
            rest *= len(space[n])
        if done is not None:
            return rest if combine(done) else 0
        if pos >= len(order):  # pragma: no cover - every literal is consumed by then
            return 0
        name = order[pos]
        preds = sorted({p for dnf in state for clause in dnf for p in clause if p.param == name})
        total = 0
        for size, sig in _classes(space[name], preds):
            ok = {preds[k] for k in sig}
            new_state = []
            for dnf in state:
                new_dnf = []
                for clause in dnf:
                    if all(p in ok for p in clause if p.param == name):
                        new_dnf.append(tuple(p for p in clause if p.param != name))
                new_state.append(tuple(new_dnf))
            total += size * rec(pos + 1, tuple(new_state))
        return total

    start = tuple(tuple(tuple(clause) for clause in dnf) for dnf in dnfs)
    return free * rec(0, start)


def covered(space: Space, target: Sequence[Predicate], union: Formula) -> bool:
    """True when every instance satisfying ``target`` satisfies some clause of ``union``."""
    return count(space, [[list(target)], union], lambda v: v[0] and not v[1]) == 0


def equivalent(space: Space, a: Formula, b: Formula) -> bool:
    """True when the two DNFs hold on exactly the same instances."""
    return count(space, [a, b], lambda v: v[0] != v[1]) == 0


def sample(
    space: Space,
    rng: random.Random,
    within: Sequence[Predicate] = (),
    avoid: Sequence[Conjunction] = (),
    tries: int = 20,
) -> Instance | None:
    """A random instance satisfying ``within`` and violating every cause in ``avoid``.

    Built constructively (one violated literal per avoided cause) so it succeeds
    in one or two tries when such an instance exists; ``None`` otherwise.
    """
    base = {n: allowed(space, within, n) for n in space.names}
    if any(not s for s in base.values()):
        return None
    for _ in range(tries):
        choice = dict(base)
        ok = True
        for cause in avoid:
            if not all(choice[p.param] & value_set(space[p.param], p) for p in cause):
                continue  # already impossible to satisfy
            options = []
            for p in sorted(cause, key=lit_key):
                rest = choice[p.param] - value_set(space[p.param], p)
                if rest:
                    options.append((p.param, rest))
            if not options:
                ok = False
                break
            name, rest = options[rng.randrange(len(options))]
            choice[name] = rest
        if not ok:
            return None
        inst = space.from_indices(
            [sorted(choice[n])[rng.randrange(len(choice[n]))] for n in space.names]
        )
        if not any(c.holds(inst) for c in avoid):
            return inst
    return None
