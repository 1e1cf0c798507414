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
from driftdoc.env.search.state import Move, MoveKind, State, norm
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

    def kept(self, before: State, move: Move, verdict: Verdict,
             after: Verdict) -> list[DriftFix]:
        if move.kind is MoveKind.DROP and move.package:
            self.ctx.mark_unavailable(before, move.package)
        return drift_of(move, verdict, after)

    def learn(self, move: Move, verdict: Verdict) -> None:
        if self.ctx.unbuildable is not None:
            self.ctx.unbuildable.learn(move.state.attempt(), verdict.pins, verdict.failure)

    def doomed(self, move: Move) -> str | None:
        if self.ctx.unbuildable is None:
            return None
        return self.ctx.unbuildable.doomed(move.state.attempt())

    def stuck(self, failure: Failure) -> str | None:
        top = (failure.module or "").split(".")[0]
        if failure.kind is Kind.IMPORT and top.lower() in self.ctx.unavailable_modules:
            return (f"no installable distribution provides {top} (not on the index, or no "
                    f"release builds here; a module of the snippet's own project?): "
                    f"{failure.describe()}")
        return None


def _versions(pins: list[str]) -> dict[str, str]:
    return {norm(n): v for n, _, v in (p.partition("==") for p in pins) if v}


def drift_of(move: Move, verdict: Verdict, after: Verdict) -> list[DriftFix]:
    """Every version change a kept move made to a direct dependency is drift: old -> new,
    and the failure it fixed. Not only the package a version move named: an era or a
    Python move changes several at once (V2's "mobi": Sphinx 1.8.5 -> 1.4.9 as of 2017)."""
    failure = verdict.failure

    def fix(package: str, old: str | None, new: str | None) -> DriftFix:
        return DriftFix(package, old, new, failure.exception or failure.kind.value,
                        verdict.exception_message, failure.line, move.kind.value)

    fixes = []
    if move.package and move.kind.changes_version:
        # an install failure has no pins before: the move itself says where it came from
        fixes.append(fix(move.package,
                         move.from_version or resolved_version(verdict.pins, move.package),
                         move.to_version or resolved_version(after.pins, move.package)))
    old, new = _versions(verdict.pins), _versions(after.pins)
    done = {norm(f.package) for f in fixes}
    for dep in move.state.deps:
        name = norm(dep.dist)
        if name not in done and name in old and name in new and old[name] != new[name]:
            fixes.append(fix(dep.dist, old[name], new[name]))
            done.add(name)
    return fixes
