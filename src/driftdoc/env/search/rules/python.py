"""Another Python: for a SyntaxError, a module of another Python's standard library
(``urllib2``), a Python-2-only package, a package with no release for this Python, or a
run that timed out while importing. Dependencies are re-derived for the new Python.
"""

from __future__ import annotations

from collections.abc import Sequence

from driftdoc.env.search.context import Context, Target
from driftdoc.env.search.state import Move, MoveKind, State


def python_moves(ctx: Context, state: State, why: str, *, other_major: bool = False,
                 among: Sequence[str] | None = None) -> list[Move]:
    """Up to two other Pythons (from ``among`` if given), dependencies re-derived."""
    if ctx.python_pinned:
        return []
    moves = []
    major = state.python.split(".")[0]
    pythons = list(among) if among is not None else ctx.pythons
    if other_major:
        pythons = [p for p in pythons if p.split(".")[0] != major]
    for py in pythons:
        if py == state.python:
            continue
        moves.append(Move(State(py, ctx.as_of_for(py, state), ctx.deps_on(py, state),
                                state.system), MoveKind.PYTHON,
                          f"Python {py} instead of {state.python} ({why})"))
    return moves[:2]


def propose(ctx: Context, t: Target) -> list[Move]:
    return python_moves(ctx, t.state, t.why, other_major=t.other_major)


def propose_other_major_first(ctx: Context, t: Target) -> list[Move]:
    """The other major version (a snippet that does not parse), else any other Python."""
    return python_moves(ctx, t.state, t.why, other_major=True) or \
        python_moves(ctx, t.state, t.why)


def propose_homes(ctx: Context, t: Target) -> list[Move]:
    """The Pythons where what is missing exists (its stdlib, or the package's releases)."""
    if t.homes is None:
        return []
    return python_moves(ctx, t.state, t.homes_why, among=t.homes)
