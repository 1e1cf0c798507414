"""The newest release past the date cut-off, for a package no release of which by then
builds here: old C sources break on today's compilers (GCC 10 made ``-fno-common`` the
default: "multiple definition of ..." in RPi.GPIO 0.7.0), and a later release of the same
line is often just that fix (RPi.GPIO 0.7.1). Applies to install failures under a date.
"""

from __future__ import annotations

from dataclasses import replace

from packaging.version import Version

from driftdoc.env.search.context import Context, Target, parse_version, resolved_version
from driftdoc.env.search.state import Move, MoveKind


def propose(ctx: Context, t: Target) -> list[Move]:
    state, index = t.on, t.index
    if index is None or state.as_of is None or ctx.as_of_pinned:
        return []
    dep = state.deps[index]
    within = ctx.releases.versions(dep.dist, state.python, state.as_of)
    floor = parse_version(dep.version or resolved_version(t.pins, dep.dist)
                          or (within[-1] if within else ""))
    later = [v for v in ctx.releases.versions(dep.dist, state.python, None)
             if v not in within and (parsed := parse_version(v)) is not None
             and not parsed.is_prerelease and (floor is None or parsed > floor)]
    if not later:
        return []
    newest = max(later, key=lambda v: parse_version(v) or Version("0"))
    return [Move(state.with_dep(index, replace(dep, version=newest)), MoveKind.NEWER,
                 f"{dep.dist} {floor or 'newest'} -> {newest}, past the "
                 f"{state.as_of.isoformat()} cut-off ({t.why})", dep.dist,
                 str(floor) if floor else None, newest)]
