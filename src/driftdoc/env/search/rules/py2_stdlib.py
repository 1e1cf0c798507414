"""An old release that imports a module only Python 2's standard library has (``sgmllib``
under Scrapy 0.22 on 3.8) is retried on 2.7 with that same release: a later Python move
would start again from the newest release and lose what the bisection found.
"""

from __future__ import annotations

from dataclasses import replace

from driftdoc.env.search.context import Context, if_further, keeping_only
from driftdoc.env.search.engine import Run, Tested
from driftdoc.env.search.state import Move, MoveKind, State
from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Verdict


def on_python2(ctx: Context, move: Move, verdict: Verdict, run: Run) -> Tested:
    if verdict.failure.kind is not Kind.IMPORT or \
            move.kind not in (MoveKind.OLDER, MoveKind.BISECT):
        return move, verdict
    top = (verdict.failure.module or "").split(".")[0]
    py = move.state.python
    if ctx.python_pinned or ctx.stdlib_in is None or not top or py.startswith("2.") \
            or "2.7" not in ctx.pythons or not move.package:
        return move, verdict
    if not ctx.stdlib_in(top, "2.7") or ctx.stdlib_in(top, py):
        return move, verdict
    deps = keeping_only(move.state.deps, move.package)
    retry = replace(move, state=State("2.7", ctx.as_of_for("2.7", move.state), deps,
                                      move.state.system),
                    why=f"{move.why}, on Python 2.7 (whose standard library has {top})")
    return if_further(run, retry, move, verdict)
