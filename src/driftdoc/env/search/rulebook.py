"""The repair search's domain: the rules, their order and their context, as the engine
asks for them (``engine.Domain``)."""

from __future__ import annotations

from driftdoc.env.search.context import Context, resolved_version
from driftdoc.env.search.engine import Bisection, Run, Tested
from driftdoc.env.search.ordering import arrange
from driftdoc.env.search.registry import COMPLETE, PREPARE
from driftdoc.env.search.result import DriftFix
from driftdoc.env.search.rules import older
from driftdoc.env.search.situations import situate
from driftdoc.env.search.state import Move, MoveKind, State
from driftdoc.env.validation.failure import Failure, Kind
from driftdoc.env.validation.verdict import Verdict


class Rulebook:
    """Moves from the rules in the order of the tables; completions; bisection ladders."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def moves(self, state: State, verdict: Verdict) -> list[Move]:
        return arrange(self.ctx, situate(self.ctx, state, verdict))

    def prepare(self, move: Move) -> Move:
        for rule in PREPARE:
            move = rule(self.ctx, move)
        return move

    def complete(self, move: Move, verdict: Verdict, run: Run) -> Tested:
        for rule in COMPLETE:
            move, verdict = rule(self.ctx, move, verdict, run)
        return move, verdict

    def bisection(self, marker: Move) -> Bisection | None:
        return older.bisection(self.ctx, marker)

    def kept(self, before: State, move: Move, verdict: Verdict, after: Verdict) -> DriftFix | None:
        if move.kind is MoveKind.DROP and move.package:
            self.ctx.mark_unavailable(before, move.package)
        if not (move.package and move.kind.changes_version):
            return None
        failure = verdict.failure
        return DriftFix(move.package,
                        move.from_version or resolved_version(verdict.pins, move.package),
                        move.to_version or resolved_version(after.pins, move.package),
                        failure.exception or failure.kind.value, verdict.exception_message,
                        failure.line, move.kind.value)

    def stuck(self, failure: Failure) -> str | None:
        top = (failure.module or "").split(".")[0]
        if failure.kind is Kind.IMPORT and top.lower() in self.ctx.unavailable_modules:
            return (f"no installable distribution provides {top} (not on the index, or no "
                    f"release builds here; a module of the snippet's own project?): "
                    f"{failure.describe()}")
        return None
