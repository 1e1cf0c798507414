"""Debian packages for a package that builds against a C library (MySQLdb, PyAudio,
pycairo, PyGObject, ...) or for a GObject typelib: a missing library fails every release
alike, so this comes before version moves, and the other moves for that failure keep it.

Applies to an install failure of a known package, an import that cannot load a shared
library, and "introspection typelib not found"; completes a move whose build uncovered
another library (rtmidi -> python-rtmidi + ALSA; pycairo, then dbus-python, then
PyGObject), one build failure at a time, up to :data:`LIBRARY_CHAIN`.
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import Context, Target, with_system
from driftdoc.env.search.engine import Run, Tested, moved_on
from driftdoc.env.search.state import Move, State, norm
from driftdoc.env.validation.failure import Failure, Kind
from driftdoc.env.validation.verdict import Verdict

LIBRARY_CHAIN = 3
"""How many libraries in a row a move may need before it gets further (each build fails
at the first package that lacks one)."""


def system_moves(ctx: Context, state: State, dist: str, why: str) -> list[Move]:
    """Build (and run) with the Debian packages ``dist`` is known to need."""
    if ctx.system_packages is None:
        return []
    name = dist.split("==")[0].strip()
    return with_system(state, ctx.system_packages(name), why, name)


def propose(ctx: Context, t: Target) -> list[Move]:
    if not t.system_for:
        return []
    return system_moves(ctx, t.original or t.state, t.system_for, t.why)


def propose_typelib(ctx: Context, t: Target) -> list[Move]:
    """``from gi.repository import Notify`` found no typelib: no Python package provides
    one, only the Debian package of that library does."""
    if t.failure.typelib is None or ctx.typelib_packages is None:
        return []
    return with_system(t.state, ctx.typelib_packages(t.failure.typelib), t.failure.why())


def _failed_name(f: Failure) -> str:
    """The distribution an install failure names, normalised ("" when none)."""
    return norm((f.failed_requirement or f.blamed or "").split("==")[0].strip())


def with_its_libraries(ctx: Context, move: Move, verdict: Verdict, run: Run) -> Tested:
    """Judge a move that brings in a distribution which builds against a C library with
    the library present."""
    if verdict.failure.kind is not Kind.INSTALL:
        return move, verdict
    current, now = move, verdict.failure
    for _ in range(LIBRARY_CHAIN):
        failed = now.failed_requirement or now.blamed or ""
        found = system_moves(ctx, current.state, failed, f"{failed} did not install") \
            if failed else []
        if not found:
            break
        retry = replace(current, state=found[0].state, why=f"{current.why}; {found[0].why}")
        ran = run([retry])
        if not ran:
            break
        current, after = ran[0]
        if after.failure.progress() > verdict.failure.progress() or \
                moved_on(verdict.failure, after.failure):
            return current, after
        # built now, and the next package needs another library: go on
        if after.failure.kind is not Kind.INSTALL or \
                _failed_name(after.failure) in ("", _failed_name(now)):
            break
        now = after.failure
    return move, verdict
