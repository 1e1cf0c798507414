"""An old release on the Python of its own time: old releases rarely have wheels for newer
interpreters (scikit-learn 0.19 on 3.8). Before validation, a version move whose release
ships compiled wheels, but none for this Python, goes to the newest older Python it has
them for; after an install failure, it is retried on the newest Python released before it
(or on 2.7 when it predates every Python 3 here).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from driftdoc.env.host import tables
from driftdoc.env.search.context import Context, keeping_only, py_key
from driftdoc.env.search.engine import Run, Tested
from driftdoc.env.search.state import Move, MoveKind, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict

_VERSION_MOVES = (MoveKind.OLDER, MoveKind.BISECT)


def where_its_wheels_are(ctx: Context, move: Move) -> Move:
    """Send a version move to the newest older Python its release has wheels for.

    Validating it here first means a source build that takes minutes of the time limit
    and usually fails (scikit-learn 0.18 on 3.8), only to be retried there anyway.
    """
    if ctx.python_pinned or move.kind not in _VERSION_MOVES or not move.package \
            or not move.to_version:
        return move
    python = move.state.python
    fits: Sequence[str] | None = ctx.releases.wheel_pythons(move.package, move.to_version,
                                                            ctx.pythons)
    if fits is None or python in fits:
        return move  # no compiled wheels at all: nothing to gain elsewhere
    major = python.split(".")[0]
    older = [py for py in fits if py.split(".")[0] == major and py_key(py) < py_key(python)]
    if not older:
        return move
    target = max(older, key=py_key)
    deps = keeping_only(move.state.deps, move.package)
    return replace(move, state=State(target, move.state.as_of, deps, move.state.system),
                   why=f"{move.why}, on Python {target} (it has no wheel for {python})")


def on_its_python(ctx: Context, move: Move, verdict: Verdict, run: Run) -> Tested:
    """Retry an old release that failed to install on the Python of its own time."""
    if verdict.failure.kind is not Kind.INSTALL or move.kind not in _VERSION_MOVES \
            or ctx.python_pinned or not move.package or not move.to_version:
        return move, verdict
    when = ctx.releases.upload_date(move.package, move.to_version)
    if when is None:
        return move, verdict
    major = move.state.python.split(".")[0]
    fitting = [py for py in ctx.pythons if py.split(".")[0] == major
               and tables.python_released().get(py, dt.date.max) <= when
               and py_key(py) < py_key(move.state.python)]
    if not fitting and major == "3" and "2.7" in ctx.pythons:
        fitting = ["2.7"]  # older than every Python 3 here (and the snippet reads as 2.7)
    deps = keeping_only(move.state.deps, move.package)
    # newest first: a release often lacks wheels for the Pythons of its last months
    for py in sorted(fitting, key=py_key, reverse=True)[:3]:
        retry = replace(move, state=State(py, move.state.as_of, deps, move.state.system),
                        why=f"{move.why}, on Python {py} (of its time)")
        for m, v in run([retry]):
            if v.failure.kind is not Kind.INSTALL:
                return m, v
    return move, verdict
