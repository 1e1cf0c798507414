"""Another distribution for the same import (``serial`` -> ``pyserial``, ``cjson`` ->
``python-cjson``), or dropping an optional or transitive one that fails.

Applies when the chosen distribution does not provide the module, does not parse on this
Python, or fails to install; for a vanished name ("cannot import name 'path' from 'path'")
the alternative's releases are bisected too (``path.py`` 9.1).
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import Context, Target
from driftdoc.env.search.rules.drop import drop_missing, drop_move
from driftdoc.env.search.state import Move, MoveKind, State


def candidate_moves(state: State, index: int, why: str, *,
                    unavailable: bool = False) -> list[Move]:
    dep = state.deps[index]
    moves = []
    if dep.choice + 1 < len(dep.candidates):
        nxt = replace(dep, choice=dep.choice + 1, version=None)
        moves.append(Move(state.with_dep(index, nxt), MoveKind.CANDIDATE,
                          f"{nxt.dist} instead of {dep.dist} ({why})"))
    elif dep.optional or dep.transitive:
        moves.append(Move(state.with_dep(index, None), MoveKind.DROP,
                          f"drop {dep.dist} ({why}; the import is optional)"))
    elif unavailable:
        moves.append(drop_move(state, index, why))
    return moves


def propose(ctx: Context, t: Target) -> list[Move]:
    if t.index is None:
        return []
    return candidate_moves(t.on, t.index, t.dep_reason)


def propose_or_drop_missing(ctx: Context, t: Target) -> list[Move]:
    """The next candidate of a dependency the index lacks, else going on without it (and
    without every other one the index lacks)."""
    if t.index is None:
        return []
    moves = candidate_moves(t.on, t.index, t.why, unavailable=True)
    if moves and moves[0].kind is MoveKind.DROP:
        moves[0] = drop_missing(ctx, moves[0])
    return moves


def propose_with_releases(ctx: Context, t: Target) -> list[Move]:
    """The next candidate, then a bisection of its releases: its newest release may have
    moved the name too (path.py 12, like path 16)."""
    moves = propose(ctx, t)
    if moves and moves[0].kind is MoveKind.CANDIDATE and t.index is not None:
        alt = moves[0].state.deps[t.index]
        moves.append(Move(moves[0].state, MoveKind.BISECT, f"bisect {alt.dist} ({t.why})",
                          alt.dist, None, None))
    return moves
