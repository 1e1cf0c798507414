"""Steps every algorithm shares: getting a first failure and a success to compare it with."""

from __future__ import annotations

import random
from collections.abc import Iterator

from driftdoc.algorithms.design import each_value, iter_pairwise, iter_threeway
from driftdoc.algorithms.logic import sample
from driftdoc.algorithms.probe import Prober, Verdict
from driftdoc.algorithms.protocol import Evaluator, SearchResult
from driftdoc.errors import InputError
from driftdoc.events import Reporter
from driftdoc.model import Instance, Space


def check_mode(mode: str) -> None:
    """Algorithms accept the mode as a plain string; reject anything else clearly."""
    if mode not in ("one", "all"):
        raise InputError(f"unknown mode {mode!r}; use 'one' or 'all'")


EXHAUSTIVE = 4096  # spaces up to this size are finished exhaustively (a proof, not a sample)
UNIFORM_CAP = 1000  # uniform draws without a budget before "nothing fails" is accepted


def _draws(space: Space, rng: random.Random) -> Iterator[Instance]:
    while True:
        yield space.from_indices([rng.randrange(len(p)) for p in space.parameters])


def _mixed(design: Iterator[Instance], draws: Iterator[Instance],
           every: int) -> Iterator[tuple[Instance, bool]]:
    """The design's rows with a uniform draw after every ``every`` of them, so that a
    search cut short by its budget can still state a probability."""
    for k, row in enumerate(design, 1):
        yield row, False
        if k % every == 0:
            yield next(draws), True


def _stages(space: Space, seed: int) -> list[tuple[str, Iterator[tuple[Instance, bool]]]]:
    """Escalating coverage: each value, every pair, then the whole (small) space or every
    triple (with uniform draws mixed in) followed by uniform draws alone. Rows come
    with True when drawn uniformly at random."""
    def plain(rows: Iterator[Instance]) -> Iterator[tuple[Instance, bool]]:
        return ((r, False) for r in rows)

    stages: list[tuple[str, Iterator[tuple[Instance, bool]]]] = [
        ("each-value", plain(iter(each_value(space, seed)))),
        ("pairwise", plain(iter_pairwise(space, seed))),
    ]
    if space.size <= EXHAUSTIVE:
        rest = list(space)
        random.Random(seed).shuffle(rest)
        stages.append(("exhaustive", ((r, True) for r in rest)))
    else:
        draws = _draws(space, random.Random(seed))
        stages.append(("three-way", _mixed(iter_threeway(space, seed), draws, 3)))
        stages.append(("random", ((next(draws), True) for _ in range(UNIFORM_CAP))))
    return stages


def bootstrap(prober: Prober, seed: int, chunk: int = 16) -> SearchResult | None:
    """Make sure a failure is known, escalating coverage while the budget allows.

    Each value, a pairwise design, then the rest of a small space or a three-way
    design and uniform random draws, in batches, stopping at the first failure.
    Returns a final result when no failure is found; ``None`` when the search can start.
    """
    if prober.failing():
        return None
    space = prober.space
    if prober.exhausted:
        return prober.result([], "budget-exhausted",
                             "no failure is known and the budget allows no run, so nothing was run")
    prober.note("no failure known: running covering designs of growing strength")
    tried: set[Instance] = set()
    for name, plan in _stages(space, seed):
        while True:
            batch: list[Instance] = []
            drawn: set[Instance] = set()
            for inst, uniform in plan:
                if uniform:
                    drawn.add(inst)  # a repeat draw counts again only if run again
                if inst not in tried:
                    tried.add(inst)
                    if inst not in prober.cache:
                        batch.append(inst)
                if len(batch) >= chunk:
                    break
            if not batch:
                break
            answers = prober.ask(batch)
            prober.uniform.update(i for i, a in zip(batch, answers, strict=True)
                                  if a is not None and i in drawn)
            if any(answers):
                return None
            if any(a is None for a in answers):
                n = len(prober.cache)
                return prober.result([], "no-failure-found",
                                     f"the budget ran out after {n} instance(s), "
                                     "all of which succeeded")
        if name != "random":
            prober.designs.append(name)
            prober.note(f"no failure in the {name} design")
        if name == "exhaustive":
            return prober.result([], "all-succeed",
                                 f"all {space.size} instances of the space succeeded: "
                                 "nothing to explain")
    n = len(prober.cache)
    return prober.result([], "no-failure-found",
                         f"no failure in {n} instance(s) tested without a budget limit")


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
