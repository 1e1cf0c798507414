"""Steps every algorithm shares: getting a first failure and a success to compare it with."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator

from driftdoc.algorithms.design import each_value, iter_pairwise
from driftdoc.algorithms.logic import sample
from driftdoc.algorithms.probe import Prober, Verdict
from driftdoc.algorithms.protocol import Evaluator, SearchResult
from driftdoc.errors import InputError
from driftdoc.events import Reporter
from driftdoc.model import Instance


def check_mode(mode: str) -> None:
    """Algorithms accept the mode as a plain string; reject anything else clearly."""
    if mode not in ("one", "all"):
        raise InputError(f"unknown mode {mode!r}; use 'one' or 'all'")


def bootstrap(prober: Prober, seed: int, chunk: int = 16) -> SearchResult | None:
    """Make sure a failure is known, running an initial design if needed.

    Returns a final result (with status and message) when no failure can be
    found; ``None`` when the search can start.
    """
    if prober.failing():
        return None
    space = prober.space
    if prober.exhausted:
        return SearchResult([], "budget-exhausted",
                            "no failure is known and the budget allows no run, so nothing was run")
    small = space.size <= 64
    prober.note("no failure known: running an each-value then pairwise design"
                + (", then the rest of the space" if small else ""))
    # A covering design meets two-way interactions early; a small space is then finished
    # exhaustively so "everything succeeds" is a proof, not a sample.
    plan: Iterator[Instance] = itertools.chain(each_value(space, seed), iter_pairwise(space, seed))
    if small:
        plan = itertools.chain(plan, iter(list(space)))
    done = True
    tried: set[Instance] = set()
    while True:
        batch: list[Instance] = []
        for inst in plan:
            if inst not in prober.cache and inst not in tried:
                batch.append(inst)
                tried.add(inst)
            if len(batch) >= chunk:
                break
        if not batch:
            break
        answers = prober.ask(batch)
        if any(a is None for a in answers):
            done = False
            break
        if any(answers):
            return None
    n = len(prober.cache)
    if prober.failing():
        return None
    if done:
        scope = "every instance of the space" if small else "a pairwise covering design"
        return SearchResult([], "all-succeed",
                            f"all {n} instances tested ({scope}) succeeded: nothing to explain")
    return SearchResult([], "no-failure-found",
                        f"the budget ran out after {n} instance(s), all of which succeeded")


def begin(evaluator: Evaluator, mode: str, reporter: Reporter,
          seed: int) -> tuple[Prober, random.Random] | SearchResult:
    """The opening every algorithm shares: check the mode, wrap the evaluator, and make
    sure a failure is known; a SearchResult means there is nothing left to search."""
    check_mode(mode)
    prober = Prober(evaluator, reporter)
    start = bootstrap(prober, seed)
    if start is not None:
        return start
    return prober, random.Random(seed)


def find_success(prober: Prober, x: Instance, rng: random.Random) -> Instance | None:
    """A succeeding instance far from ``x``: its opposite, a known success, or a sample."""
    from driftdoc.algorithms.explain import opposite

    space = prober.space

    def distance(i: Instance) -> int:
        return sum(1 for n in space.names if i[n] != x[n])

    opp = opposite(prober, x, rng)
    if opp != x and prober.judge([opp])[0] is Verdict.PASS:
        return opp
    known = [i for i in prober.passing() if i != x]
    if known:
        return max(known, key=distance)
    for _ in range(3):
        cand = sample(space, rng, avoid=prober.causes)
        if cand is None or cand in prober.cache:
            continue
        if prober.judge([cand])[0] is Verdict.PASS:
            return cand
    # every instance seen so far fails: keep looking, one each-value design at a
    # time (each shows every value once), until a quarter of the budget is spent
    rem = prober.remaining
    allowance = 60 if rem is None else max(min(rem // 4, 100), 20)
    spent = 0
    while spent < allowance:
        design = [i for i in each_value(space, rng.randrange(1 << 30))
                  if i not in prober.cache and not prober.explained(i)]
        design = design[: allowance - spent]
        if not design:
            break
        spent += len(design)
        for inst, v in zip(design, prober.judge(design), strict=True):
            if v is Verdict.PASS:
                return inst
    return None
