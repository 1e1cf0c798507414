"""The whole environment as of an earlier date (and the newest Python of that time): the
fallback when no single dependency can be blamed, or stepping one down did not help.
"""

from __future__ import annotations

from driftdoc.env.host import tables
from driftdoc.env.search.context import Context, Target
from driftdoc.env.search.state import Move, MoveKind, State


def era_moves(ctx: Context, state: State, why: str) -> list[Move]:
    if ctx.as_of_pinned:
        return []
    eras = tables.py2_eras() if state.python.startswith("2.") else tables.eras()
    moves = []
    for when, py in eras:
        if state.as_of is not None and when >= state.as_of:
            continue
        python = state.python if ctx.python_pinned else py
        moves.append(Move(State(python, when, ctx.deps_on(python, state), state.system),
                          MoveKind.ERA,
                          f"everything as of {when.isoformat()} on Python {python} ({why})"))
    return moves


def propose(ctx: Context, t: Target) -> list[Move]:
    return era_moves(ctx, t.state, t.why)
