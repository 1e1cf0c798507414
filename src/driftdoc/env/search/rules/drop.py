"""Go on without a dependency nothing installs here (not on the index, usually a module of
the gist's own project, or no release builds): the rest of the environment still gets
validated, a lazily imported one may not matter, and it is never re-added.

Applies last to an install failure blamed on a required dependency, and at once (with
every other dependency the index lacks) to one the index does not have.
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import Context, Target
from driftdoc.env.search.state import Move, MoveKind, State


def drop_move(state: State, index: int, why: str) -> Move:
    dep = state.deps[index]
    return Move(state.with_dep(index, None), MoveKind.DROP,
                f"go on without {dep.dist} ({why})", dep.dist)


def drop_missing(ctx: Context, drop: Move) -> Move:
    """Drop every other dependency the index does not have either, in the same move:
    one at a time, each would only trade an install failure for the next one."""
    gone = [d for d in drop.state.deps if not d.optional
            and d.choice + 1 >= len(d.candidates) and not ctx.releases.exists(d.dist)]
    if not gone:
        return drop
    for dep in gone:
        ctx.mark_unavailable(drop.state, dep.dist)
    kept = tuple(d for d in drop.state.deps if d not in gone)
    names = ", ".join(d.dist for d in gone)
    return replace(drop, state=replace(drop.state, deps=kept),
                   why=f"{drop.why}; also without {names} (not on the index)")


def propose(ctx: Context, t: Target) -> list[Move]:
    if t.index is None or t.on.deps[t.index].optional:
        return []
    return [drop_move(t.original or t.state, t.index, f"{t.why}; no other move helped")]
