"""Debugging Decision Trees, find-one and find-all.

The loop, after BugDoc's DDT:

* a decision tree over every executed instance (real-valued entropy, each
  instance once) separates the failures not yet explained from the rest; its
  purest, best-supported failing leaf picks the failure to explain next, and
  its path says which parameters to try first;
* the candidate is confirmed or refuted by targeted runs: isolation against a
  far-away success, literal identification (thresholds by bisection, ``==``
  versus ``!=`` with one extra value), and a coverage design inside the cause
  (see ``explain``);
* with the new data the tree is rebuilt; in find-all mode, once every known
  failure is explained, each cause is confirmed again with the others in view,
  then a batch of runs explores the tree's leaves and the regions no cause
  covers, and the loop stops when that finds nothing new.
"""

from __future__ import annotations

import random

from driftdoc.algorithms.common import begin, find_success
from driftdoc.algorithms.explain import confirm, explain
from driftdoc.algorithms.logic import covered, sample
from driftdoc.algorithms.minimize import minimize
from driftdoc.algorithms.outside import (
    affordable,
    missing_pairs,
    outside,
    pairs_of,
    pairwise_rows,
    uniform_outside,
)
from driftdoc.algorithms.probe import Exhausted, Prober
from driftdoc.algorithms.protocol import Evaluator, SearchResult
from driftdoc.algorithms.tree import build, failing_paths, leaves
from driftdoc.events import Reporter, null_reporter
from driftdoc.model import Conjunction, Instance


def _pick(prober: Prober, pending: list[Instance]) -> tuple[Instance, list[str]]:
    """The unexplained failure in the tree's best failing leaf, and that leaf's parameters."""
    data = {i: (f and not prober.explained(i)) for i, f in prober.cache.items()
            if not (f and prober.explained(i))}
    tree = build(prober.space, data)
    names = prober.space.names
    for path, _support in failing_paths(tree):
        for inst in pending:
            if path.holds(inst):
                return inst, sorted({p.param for p in path}, key=names.index)
    return pending[0], []


def _explore(prober: Prober, rng: random.Random, causes: list[Conjunction], target: int,
             visited: set[tuple[Conjunction, frozenset[Conjunction]]], rows: int = 64) -> None:
    """Run one batch aimed at failures no cause explains.

    Uniform random draws outside the causes until ``target`` of them are known,
    samples from tree leaves (each once per set of causes) holding failures the causes
    do not cover, then up to ``rows`` rows of a pairwise design outside the causes for
    the pairs of values that neither known runs there, nor those draws and samples show.
    """
    space = prober.space
    batch: list[Instance] = []

    def add(inst: Instance | None) -> bool:
        if inst is not None and inst not in prober.cache and inst not in batch:
            batch.append(inst)
            return True
        return False

    have = sum(1 for i in prober.uniform if outside(i, causes))
    draws: list[Instance] = []
    for _ in range(4 * target):
        if have + len(draws) >= target:
            break
        draw = uniform_outside(space, rng, causes)
        if draw is None:
            break
        if add(draw):
            draws.append(draw)
    pairwise = affordable(space, prober.remaining)
    todo = missing_pairs(space, [*prober.cache, *draws], causes) if pairwise else set()
    # leaf samples ride along with other work; alone, at most three per set of causes
    spare = 3 if batch or todo else \
        max(0, 3 - sum(1 for v in visited if v[1] == frozenset(causes)))
    tree = build(space, dict(prober.cache))
    union = [list(c) for c in causes]
    leaf = 0
    for path, node in leaves(tree):
        if leaf >= spare:
            break
        if node.fails and (path, frozenset(causes)) not in visited \
                and not covered(space, list(path), union):
            visited.add((path, frozenset(causes)))
            inst = sample(space, rng, within=list(path), avoid=causes)
            if add(inst):
                leaf += 1
                if inst is not None and outside(inst, causes):
                    todo.difference_update(pairs_of(space, inst))
    for row in pairwise_rows(space, todo, causes, rng, rows):
        add(row)
    rem = prober.remaining
    if rem is not None:
        batch = batch[:rem]
    if batch:
        prober.judge(batch)
        prober.uniform.update(d for d in draws if d in prober.cache)


def _masked(prober: Prober, cause: Conjunction, others: list[Conjunction]) -> bool:
    """True when a trusted row that confirmed ``cause`` also satisfies another cause:
    it may have failed for that reason, so the confirmation must be redone without it."""
    return any(prober.cache.get(r) and cause.holds(r) and any(c.holds(r) for c in others)
               for r in prober.trusted)


def _recheck(
    prober: Prober,
    causes: list[Conjunction],
    witnesses: dict[Conjunction, Instance],
    rng: random.Random,
    done: set[tuple[Conjunction, frozenset[Conjunction]]],
) -> bool:
    """Confirm each cause again now that the others are known; True if any changed.

    Early confirmations run before the other causes are known, so their rows
    may fail for another reason and hide a missing literal; now such rows are
    recognised and rebuilt. A cause is redone once per set of other causes, and only
    when one of its confirming rows satisfies another cause.
    """
    changed = False
    for i in range(len(causes)):
        cause = causes[i]
        others = [c for j, c in enumerate(causes) if j != i]
        seen = (cause, frozenset(others))
        if seen in done or not _masked(prober, cause, others):
            continue
        done.add(seen)
        prober.causes = others
        try:
            w = witnesses.get(cause)
            if w is None or prober.explained(w) or not cause.holds(w):
                w = next((f for f in prober.failing()
                          if cause.holds(f) and not prober.explained(f)), None)
            if w is None:
                continue
            new, y, _ok = confirm(prober, cause, w, rng)
        finally:
            prober.causes = causes
        if new != cause:
            causes[i] = new
            witnesses[new] = y
            changed = True
    return changed


def _choose_one(causes: list[Conjunction]) -> list[Conjunction]:
    """Find-one answer: the most specific cause (ties: the first found).

    A cause with fewer literals is likelier to be the union of several truths
    sharing a literal, which one-value-at-a-time confirmation can miss.
    """
    if not causes:
        return []
    return [max(causes, key=len)]


def ddt(
    evaluator: Evaluator,
    mode: str = "all",
    reporter: Reporter = null_reporter,
    *,
    seed: int = 0,
    explore: int = 16,
    max_causes: int = 32,
    survey: bool = False,
    max_rounds: int = 12,
) -> SearchResult:
    """Find one or all minimal causes of failure; see the module docstring.

    Find-one mode still explains (and confirms) the failures already known, not
    new ones, so that the cause it returns is confirmed with the others in view.
    ``survey=True`` makes find-one cheaper (about 40 % fewer runs on the
    synthetic benchmark) by confirming only the returned cause, at the price of
    about 1.5 % more non-definitive answers.
    """
    opened = begin(evaluator, mode, reporter, seed)
    if isinstance(opened, SearchResult):
        return opened
    prober, rng = opened
    causes: list[Conjunction] = []
    witnesses: dict[Conjunction, Instance] = {}
    prober.causes = causes
    stuck: set[Instance] = set()
    attempts: dict[Instance, int] = {}
    status, message = "found", ""
    notes: list[str] = []
    explored_rounds = 0
    visited: set[tuple[Conjunction, frozenset[Conjunction]]] = set()
    rechecked: set[tuple[Conjunction, frozenset[Conjunction]]] = set()
    rechecks = 0
    try:
        while len(causes) < max_causes:
            pending = [i for i in prober.unexplained() if i not in stuck]
            quick = mode == "one" and survey
            if not pending and rechecks < 2 and causes and not quick:
                rechecks += 1
                if _recheck(prober, causes, witnesses, rng, rechecked):
                    continue
            if not pending:
                if mode == "one" or explored_rounds >= max_rounds or prober.exhausted:
                    break
                explored_rounds += 1
                prober.note(f"every known failure is explained by {len(causes)} cause(s); "
                            "searching outside them")
                known = len(prober.cache)
                _explore(prober, rng, causes, explore, visited)
                pending = [i for i in prober.unexplained() if i not in stuck]
                if not pending and len(prober.cache) == known:
                    break  # nothing new to run: the stated coverage is reached
                rechecks = 0
                continue
            x, first = _pick(prober, pending)
            prober.note(f"explaining a failure ({len(pending)} unexplained)", instance=dict(x))
            s = find_success(prober, x, rng)
            if s is None:
                if not causes:
                    return prober.result(
                        [], "all-fail",
                        f"every one of the {len(prober.cache)} instances tested failed; "
                        "no parameter value separates failures from successes")
                stuck.add(x)
                continue
            cause, y, ok = explain(prober, x, s, rng, first=first, check=not quick)
            prober.note(f"cause {'confirmed' if ok else 'unconfirmed'}: {cause.text()}",
                        cause=cause.to_json())
            if not ok and not quick:
                notes.append(f"not fully confirmed: {cause.text(prober.space.names)}")
            if not cause.holds(x):
                # isolation followed another cause's failure (failure is not monotone
                # in the kept parameters); retry x now that this cause is known
                attempts[x] = attempts.get(x, 0) + 1
                if attempts[x] >= 3 or cause in causes:
                    stuck.add(x)
            elif cause in causes:
                stuck.add(x)
            if cause not in causes:
                causes.append(cause)
                witnesses[cause] = y
    except Exhausted:
        status = "budget-exhausted"
        message = prober.stop_message("the causes below are what was established so far")
    chosen = _choose_one(causes) if mode == "one" else causes
    if mode == "one" and survey and chosen and status == "found":
        try:
            prober.causes = [c for c in causes if c != chosen[0]]
            confirmed, _y, _ok = confirm(prober, chosen[0], witnesses[chosen[0]], rng)
            chosen = [confirmed]
        except Exhausted:
            status = "budget-exhausted"
            message = prober.stop_message("the cause below could not be fully confirmed")
        finally:
            prober.causes = causes
    final = minimize(prober.space, chosen, prober, rng)
    if not final and status == "found":
        status, message = "no-failure-found", "no cause could be established"
    left = [i for i in stuck if not any(c.holds(i) for c in final)]
    if left and mode == "all":
        notes.append(f"{len(left)} known failure(s) are not explained by the causes")
    return prober.result(final, status, message, notes)
