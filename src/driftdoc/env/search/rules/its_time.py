"""An old release broken by today's versions of its own dependencies (Flask 0.12 with
Jinja2 3: "cannot import name 'Markup'") gets them as of its own time: half a year after
the release. Completes a version move whose package code failed to import or drifted.
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import Context, if_further
from driftdoc.env.search.engine import Run, Tested
from driftdoc.env.search.state import Move, MoveKind
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict


def of_its_time(ctx: Context, move: Move, verdict: Verdict, run: Run) -> Tested:
    failure = verdict.failure
    if failure.kind not in (Kind.IMPORT, Kind.DRIFT) or not failure.in_package \
            or move.kind not in (MoveKind.OLDER, MoveKind.BISECT) \
            or ctx.undeclared(move.state, failure) is not None:
        # (a module nobody provides is added by the add rule; a date cannot supply it)
        return move, verdict
    horizon = ctx.horizon(move)
    if horizon is None:
        return move, verdict
    return if_further(run, replace(move, state=replace(move.state, as_of=horizon),
                                   why=f"{move.why}, with its dependencies as of "
                                       f"{horizon.isoformat()}"), move, verdict)
