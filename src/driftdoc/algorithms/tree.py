"""Debugging decision trees: entropy splits over executed instances.

Fixes two flaws of the original BugDoc tree: entropy uses real division (the
original's floor division made every impure node look pure or empty), and each
instance counts once however many times it was seen. Ordered parameters split
on ``<``/``>=`` thresholds, which may sit on values never run (the middle of
the gap between two observed values); categorical ones split on ``==``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

from driftdoc.model import Conjunction, Instance, Predicate, Space


def entropy(fails: int, passes: int) -> float:
    """Binary entropy in bits of a node with these counts (real division)."""
    total = fails + passes
    if total == 0 or fails == 0 or passes == 0:
        return 0.0
    pf = fails / total
    pp = passes / total
    return -(pf * math.log2(pf) + pp * math.log2(pp))


@dataclass
class Node:
    """A leaf when ``split`` is None; otherwise ``yes`` holds where ``split`` holds."""

    fails: int
    passes: int
    split: Predicate | None = None
    yes: Node | None = None
    no: Node | None = None

    @property
    def pure_fail(self) -> bool:
        return self.fails > 0 and self.passes == 0


Row = tuple[tuple[int, ...], bool]  # value indices in space order, failed?


def build(
    space: Space, data: Mapping[Instance, bool], max_depth: int = 8, min_gain: float = 1e-9
) -> Node:
    """Grow a tree on ``data`` (instance -> failed), each instance counted once."""
    rows: list[Row] = [(space.indices(inst), failed) for inst, failed in data.items()]
    return _grow(space, rows, max_depth, min_gain)


def _best_split(space: Space, rows: list[Row]) -> tuple[float, int, int] | None:
    """(gain, parameter position, value index) of the best split, by class counts.

    Ordered parameters test ``< values[t]`` with ``t`` in the middle of the gap
    between two observed values; categorical ones test ``== values[t]``.
    """
    n = len(rows)
    fails = sum(1 for _, f in rows if f)
    passes = n - fails
    base = entropy(fails, passes)
    best: tuple[float, int, int] | None = None
    for pos, param in enumerate(space.parameters):
        cf = [0] * len(param)
        cp = [0] * len(param)
        for idx, f in rows:
            if f:
                cf[idx[pos]] += 1
            else:
                cp[idx[pos]] += 1
        seen = [i for i in range(len(param)) if cf[i] or cp[i]]
        if len(seen) < 2:
            continue
        cands: list[tuple[int, int, int]] = []  # (value index, yes-fails, yes-passes)
        if param.ordered:
            yf = yp = 0
            for a, b in itertools.pairwise(seen):
                yf += cf[a]
                yp += cp[a]
                cands.append(((a + 1 + b) // 2, yf, yp))
        else:
            cands = [(i, cf[i], cp[i]) for i in seen]
        for t, yf, yp in cands:
            ny = yf + yp
            nn = n - ny
            if ny == 0 or nn == 0:
                continue
            after = (ny / n) * entropy(yf, yp) + (nn / n) * entropy(fails - yf, passes - yp)
            gain = base - after
            if best is None or gain > best[0] + 1e-12:
                best = (gain, pos, t)
    return best


def _grow(space: Space, rows: list[Row], depth: int, min_gain: float) -> Node:
    fails = sum(1 for _, f in rows if f)
    passes = len(rows) - fails
    node = Node(fails, passes)
    if depth <= 0 or fails == 0 or passes == 0:
        return node
    best = _best_split(space, rows)
    if best is None or best[0] <= min_gain:
        return node
    _, pos, t = best
    param = space.parameters[pos]
    if param.ordered:
        node.split = Predicate(param.name, "<", param.values[t])
        yes = [r for r in rows if r[0][pos] < t]
        no = [r for r in rows if r[0][pos] >= t]
    else:
        node.split = Predicate(param.name, "==", param.values[t])
        yes = [r for r in rows if r[0][pos] == t]
        no = [r for r in rows if r[0][pos] != t]
    node.yes = _grow(space, yes, depth - 1, min_gain)
    node.no = _grow(space, no, depth - 1, min_gain)
    return node


def leaves(node: Node, path: tuple[Predicate, ...] = ()) -> list[tuple[Conjunction, Node]]:
    """Every leaf with the conjunction of the tests on its path."""
    if node.split is None or node.yes is None or node.no is None:
        return [(Conjunction(path), node)]
    return leaves(node.yes, (*path, node.split)) + leaves(node.no, (*path, node.split.negate()))


def failing_paths(node: Node) -> list[tuple[Conjunction, int]]:
    """Pure failing leaves as candidate causes, with their support, largest first."""
    out = [(c, n.fails) for c, n in leaves(node) if n.pure_fail]
    out.sort(key=lambda cn: -cn[1])
    return out
