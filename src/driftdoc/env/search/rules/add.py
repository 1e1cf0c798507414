"""A distribution for a module nobody provides (keras -> tensorflow), from the knowledge
base; transitive unless the snippet imports it itself. When a package is what needs it,
first as of that package's time (the backend of its era), then the newest.

Applies to a missing top-level module and to a package saying what it requires ("IPython.zmq
requires pyzmq"); completes an old release that did not declare what it imports (scipy
under scikit-learn 0.19), as of that release's time, up to three modules in one move.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from driftdoc.env.search.context import Context, Target, resolved_version
from driftdoc.env.search.engine import Run, Tested, better
from driftdoc.env.search.state import Dep, Move, MoveKind, State, norm
from driftdoc.env.validation.failure import Failure
from driftdoc.env.validation.verdict import Verdict

UNDECLARED = 3
"""Most undeclared modules added to complete one move (old numpy, scipy...)."""


def add_moves(ctx: Context, state: State, module: str, why: str,
              failure: Failure) -> list[Move]:
    candidates = [c for c in ctx.lookup(module)
                  if all(norm(c) != norm(d.dist) for d in state.deps)
                  and norm(c) not in ctx.unavailable]
    if not candidates:
        return []
    transitive = failure.in_package or module.lower() not in ctx.snippet_imports
    dep = Dep(imports=(module,), candidates=tuple(candidates), transitive=transitive)
    added = replace(state, deps=(*state.deps, dep))
    return [Move(added, MoveKind.ADD, f"add {dep.dist} for {module} ({why})")]


def of_its_needer(ctx: Context, t: Target) -> tuple[dt.date, str] | None:
    """Half a year after the release of the package that needs the module, when a package
    is what failed to import it: a framework's backend of its era (Keras 2.2 wants the
    TensorFlow of 2018, not today's, which breaks it another way)."""
    failure = t.failure
    if ctx.as_of_pinned or not (failure.in_package and failure.blamed):
        return None
    version = resolved_version(t.pins, failure.blamed)
    when = ctx.releases.upload_date(failure.blamed, version) if version else None
    if when is None:
        return None
    horizon = when + dt.timedelta(days=180)
    if t.state.as_of is not None and horizon >= t.state.as_of:
        return None
    return horizon, f"{failure.blamed} {version}"


def propose(ctx: Context, t: Target) -> list[Move]:
    if not t.module:
        return []
    moves = add_moves(ctx, t.state, t.module, t.why, t.failure)
    era = of_its_needer(ctx, t) if moves else None
    if era is None:
        return moves
    horizon, needer = era
    dated = replace(moves[0], state=replace(moves[0].state, as_of=horizon),
                    why=f"{moves[0].why}, as of {horizon.isoformat()} (the time of {needer})")
    return [dated, *moves]


def undeclared(ctx: Context, move: Move, verdict: Verdict, run: Run) -> Tested:
    """Add what an old release imports without declaring it, as of the release's time."""
    horizon = ctx.horizon(move)
    for _ in range(UNDECLARED):
        top = ctx.undeclared(move.state, verdict.failure)
        if top is None:
            break
        adds = add_moves(ctx, move.state, top, "needed by the move", verdict.failure)[:1]
        if horizon is not None:  # of the release's time (scipy 1.0 for sklearn 0.19)
            adds = [replace(a, state=replace(a.state, as_of=horizon)) for a in adds]
        improved = False
        for add, v2 in run(adds):
            if better(verdict.failure, v2.failure):
                move = replace(move, state=add.state, why=f"{move.why}; {add.why}")
                verdict, improved = v2, True
        if not improved:
            break
    return move, verdict
