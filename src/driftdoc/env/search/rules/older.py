"""Older releases of the blamed dependency: the previous minor, the previous major, then a
bisection over the newest patch of every older minor (V2's main lever against drift).

Applies whenever a failure is blamed on a dependency. For a project that ships compiled
wheels, the previous minor and major are the newest older releases with a wheel for a
Python here, and the bisection searches those releases first: the ones without are
source builds of minutes that often fail (numpy 1.9 on 2.7, pandas 0.12).
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import (
    Context,
    Target,
    parse_version,
    resolved_version,
    version_ladder,
)
from driftdoc.env.search.engine import Bisection
from driftdoc.env.search.state import Move, MoveKind, State


def dep_moves(ctx: Context, state: State, index: int, pins: tuple[str, ...],
              why: str) -> list[Move]:
    """Previous minor, previous major, then a bisection marker over the rest."""
    dep = state.deps[index]
    current = dep.version or resolved_version(pins, dep.dist)
    ladder = version_ladder(ctx.releases.versions(dep.dist, state.python, state.as_of), current)
    if not ladder:
        return []
    wheeled = wheels_first(ctx, dep.dist, ladder, state.python)[0]
    picks = [wheeled[0]]
    cur = parse_version(current) if current else None
    if cur is not None:
        older_major = [v for v in wheeled if (parse_version(v) or cur).major < cur.major]
        if older_major and older_major[0] != picks[0]:
            picks.append(older_major[0])
    moves = [Move(state.with_dep(index, replace(dep, version=v)), MoveKind.OLDER,
                  f"{dep.dist} {current or 'newest'} -> {v} ({why})", dep.dist, current, v)
             for v in picks]
    if len(ladder) > len(picks):
        # a marker: the engine walks the ladder adaptively when the cheap moves fail
        moves.append(Move(state, MoveKind.BISECT, f"bisect {dep.dist} over {len(ladder)} "
                          f"older releases ({why})", dep.dist, current, None))
    return moves


def propose(ctx: Context, t: Target) -> list[Move]:
    if t.index is None:
        return []
    return dep_moves(ctx, t.on, t.index, t.pins, t.dep_reason)


def wheels_first(ctx: Context, dist: str, ladder: list[str], python: str) -> list[list[str]]:
    """``ladder`` split into the releases with a wheel for a Python here (of the same
    major as ``python``), then the older ones without, for a project that ships
    compiled wheels: a release without is a source build of minutes, often failing."""
    major = python.split(".")[0]
    pythons = [py for py in ctx.pythons if py.split(".")[0] == major]
    has = [ctx.releases.wheel_pythons(dist, v, pythons) for v in ladder]
    if any(h is None for h in has):
        return [ladder]  # a pure or source-only project: every release builds alike
    wheeled = [v for v, h in zip(ladder, has, strict=True) if h]
    if not wheeled or len(wheeled) == len(ladder):
        return [ladder]
    oldest = ladder.index(wheeled[-1])
    return [wheeled, [v for v in ladder[oldest + 1:] if v not in wheeled]]


def bisection(ctx: Context, marker: Move) -> Bisection | None:
    """The releases a bisection marker walks (its state may carry a promoted dependency)."""
    state = marker.state
    index = state.index_of(marker.package or "")
    if index is None:
        return None
    dep = state.deps[index]
    ladder = version_ladder(ctx.releases.versions(dep.dist, state.python, state.as_of),
                            marker.from_version)

    def probe(version: str) -> Move:
        return Move(state.with_dep(index, replace(dep, version=version)), MoveKind.BISECT,
                    f"{dep.dist} {marker.from_version or 'newest'} -> {version} "
                    f"(bisecting {len(ladder)} releases)",
                    dep.dist, marker.from_version, version)

    return Bisection(wheels_first(ctx, dep.dist, ladder, state.python), probe)
