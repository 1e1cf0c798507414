"""The release-content oracle: the newest older release whose files still hold a module
that vanished (``httpie.pygson``, ``tensorflow.contrib``), read off the index without
installing anything. One validation instead of a bisection, and it finds a module that
lived in a single patch release, which the per-minor ladder never probes.

Applies to a submodule that went away and to a lowercase name in "cannot import name x
from pkg" (which may be a function as well as a module: only a few file lists are read).
When no release ever shipped the module, another project of that import name (a
namesake) is the better bet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from driftdoc.env.search.context import (
    Context,
    Target,
    parse_version,
    resolved_version,
    version_ladder,
)
from driftdoc.env.search.rules.candidate import candidate_moves
from driftdoc.env.search.state import Move, MoveKind

PROBES = 40
"""Most releases whose file lists are read looking for a vanished module (each is cached)."""
SECONDS = 20.0
"""And for at most this long: beyond it, bisecting builds is as cheap."""

Ships = Callable[[str, str, str], bool | None]


def propose(ctx: Context, t: Target) -> list[Move]:
    if t.index is None or t.module is None:
        return []
    state, index, module = t.on, t.index, t.module
    ships = ctx.releases.ships
    dep = state.deps[index]
    current = dep.version or resolved_version(t.pins, dep.dist)
    cur = parse_version(current) if current else None
    if cur is None or ships(dep.dist, str(current), module) is not False:
        return []  # the release in use has it (or nobody knows): the failure is elsewhere
    older = [v for v in ctx.releases.versions(dep.dist, state.python, state.as_of)
             if (p := parse_version(v)) is not None and p < cur and not p.is_prerelease]
    ladder = version_ladder(older, current)

    def to(version: str) -> list[Move]:
        return [Move(state.with_dep(index, replace(dep, version=version)), MoveKind.OLDER,
                     f"{dep.dist} {current} -> {version}, the newest release that "
                     f"ships {module} ({t.why})", dep.dist, current, version)]

    if t.maybe_module:
        found_at = _newest_holder(ctx, ships, dep.dist, ladder, module)
        return [] if found_at is None else to(found_at)
    # one release per minor first (cheap to rule out), then every other patch
    order = ladder + [v for v in reversed(older) if v not in ladder]
    stop = time.monotonic() + SECONDS
    known = 0
    for version in order[:PROBES]:
        if not ctx.time_left() or time.monotonic() > stop:
            break
        found = ships(dep.dist, version, module)
        if found:
            return to(version)
        known += found is not None
    if known == len(order):
        # no release ever had it: another project of that import name (a namesake
        # on PyPI), not an older release of this one
        return candidate_moves(state, index, f"{t.why}; no release of {dep.dist} "
                               f"ships {module}")
    return []


def _newest_holder(ctx: Context, ships: Ships, dist: str, ladder: Sequence[str],
                   module: str) -> str | None:
    """Where a module that went away was last shipped, in a few file lists: most names
    in "cannot import name" are functions, which the oldest release rules out at once;
    a module that was there is found by bisecting the ladder (newest first), taking
    presence as monotone (in old releases, gone from new ones)."""
    if not ladder or not ships(dist, ladder[-1], module):
        return None
    lo, hi = -1, len(ladder) - 1  # ladder[hi] ships it; nothing newer than lo does
    while hi - lo > 1 and ctx.time_left():
        mid = (lo + hi) // 2
        if ships(dist, ladder[mid], module):
            hi = mid
        else:
            lo = mid
    return ladder[hi]
