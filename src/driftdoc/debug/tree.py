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
from collections.abc import Iterable, Mapping
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


def _splits(space: Space, data: list[tuple[Instance, bool]]) -> Iterable[Predicate]:
    for param in space.parameters:
        seen = sorted({param.index(inst[param.name]) for inst, _ in data})
        if len(seen) < 2:
            continue
        if param.ordered:
            for a, b in itertools.pairwise(seen):
                t = (a + 1 + b) // 2  # any index in (a, b] separates them; take the middle
                yield Predicate(param.name, "<", param.values[t])
        else:
            for i in seen:
                yield Predicate(param.name, "==", param.values[i])


def build(
    space: Space, data: Mapping[Instance, bool], max_depth: int = 8, min_gain: float = 1e-9
) -> Node:
    """Grow a tree on ``data`` (instance -> failed), each instance counted once."""
    rows = list(data.items())
    return _grow(space, rows, max_depth, min_gain)


def _grow(space: Space, rows: list[tuple[Instance, bool]], depth: int, min_gain: float) -> Node:
    fails = sum(1 for _, f in rows if f)
    passes = len(rows) - fails
    node = Node(fails, passes)
    if depth <= 0 or fails == 0 or passes == 0:
        return node
    base = entropy(fails, passes)
    best: tuple[float, Predicate] | None = None
    for pred in _splits(space, rows):
        yf = yp = 0
        for inst, f in rows:
            if pred.holds(inst):
                if f:
                    yf += 1
                else:
                    yp += 1
        ny = yf + yp
        nn = len(rows) - ny
        if ny == 0 or nn == 0:
            continue
        after = (ny / len(rows)) * entropy(yf, yp) + (nn / len(rows)) * entropy(
            fails - yf, passes - yp
        )
        gain = base - after
        if gain > min_gain and (best is None or gain > best[0] + 1e-12):
            best = (gain, pred)
    if best is None:
        return node
    pred = best[1]
    node.split = pred
    node.yes = _grow(space, [r for r in rows if pred.holds(r[0])], depth - 1, min_gain)
    node.no = _grow(space, [r for r in rows if not pred.holds(r[0])], depth - 1, min_gain)
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
