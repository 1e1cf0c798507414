"""A newer pre-release of a package whose last final release is Python 2 only: some ports
to Python 3 never left beta (``webapp2 3.0.0b1``). Applies to a SyntaxError inside it.
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import Context, Target, parse_version, resolved_version
from driftdoc.env.search.state import Move, MoveKind


def propose(ctx: Context, t: Target) -> list[Move]:
    state, index = t.on, t.index
    if index is None or state.deps[index].version is not None:
        return []
    dep = state.deps[index]
    current = parse_version(resolved_version(t.pins, dep.dist) or "")
    newer = [v for v in ctx.releases.prereleases(dep.dist, state.python)
             if current is None or (parse_version(v) or current) > current]
    if not newer:
        return []
    return [Move(state.with_dep(index, replace(dep, version=newer[-1])), MoveKind.NEWER,
                 f"{dep.dist} pre-release {newer[-1]} ({t.why})", dep.dist,
                 str(current) if current else None, newer[-1])]
