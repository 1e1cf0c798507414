"""Shortcut and Stacked Shortcut (BugDoc).

Shortcut: starting from a failing instance, substitute a succeeding instance's
value parameter by parameter and keep every substitution after which the
instance still fails; the parameters that cannot take the succeeding value form
the cause, as equalities on the failing values. Stacked Shortcut repeats this
against several succeeding instances and keeps every distinct cause the
evidence does not refute.

Unlike the original, substitutions respect the remaining budget, instances are
never requested twice, and causes name parameters, not positions.
"""

from __future__ import annotations

import random

from driftdoc.algorithms.common import begin, find_success
from driftdoc.algorithms.explain import opposite
from driftdoc.algorithms.minimize import minimize
from driftdoc.algorithms.probe import Exhausted, Prober, Verdict
from driftdoc.algorithms.protocol import Evaluator, SearchResult
from driftdoc.events import Reporter, null_reporter
from driftdoc.model import Conjunction, Instance, Predicate


def substitute(prober: Prober, x: Instance, s: Instance) -> Conjunction:
    """One Shortcut pass: the failing values of ``x`` that ``s`` cannot replace."""
    cur = x
    for name in prober.space.names:
        if x[name] == s[name]:
            continue
        trial = cur.replace(**{name: s[name]})
        if prober.judge([trial])[0] is Verdict.FAIL:
            cur = trial
    return Conjunction(
        Predicate(n, "==", x[n]) for n in prober.space.names if x[n] != s[n] and cur[n] == x[n]
    )


def _successes(prober: Prober, x: Instance, rng: random.Random, k: int) -> list[Instance]:
    """Up to ``k`` succeeding instances, farthest from ``x`` first (one differing from it
    everywhere when it can be had)."""
    space = prober.space

    def distance(i: Instance) -> int:
        return sum(1 for n in space.names if i[n] != x[n])

    full = len(space)
    out = sorted(prober.passing(), key=distance, reverse=True)[:k]
    if out and distance(out[0]) < full:
        # as in BugDoc, a success differing everywhere comes first: a parameter where
        # the two agree can never enter the cause
        cand = opposite(prober, x, rng)
        if cand not in prober.cache and prober.judge([cand])[0] is Verdict.PASS:
            out = [cand, *out][:k]
    tries = 0
    while len(out) < k and tries < k:
        tries += 1
        cand = opposite(prober, x, rng)
        if cand in out or cand in prober.cache:
            continue
        if prober.judge([cand])[0] is Verdict.PASS:
            out.append(cand)
    if not out:
        found = find_success(prober, x, rng)
        if found is not None:
            out.append(found)
    return out


def _search(
    evaluator: Evaluator, mode: str, reporter: Reporter, seed: int, stack: int,
    attempts: int = 12,
) -> SearchResult:
    """Shortcut from each unexplained failure (at most ``attempts`` of them)."""
    opened = begin(evaluator, mode, reporter, seed)
    if isinstance(opened, SearchResult):
        return opened
    prober, rng = opened
    causes: list[Conjunction] = []
    prober.causes = causes
    stuck: set[Instance] = set()
    status, message = "found", ""
    try:
        while len(stuck) < attempts:
            pending = [i for i in prober.unexplained() if i not in stuck]
            if not pending:
                break
            x = pending[0]
            goods = _successes(prober, x, rng, stack)
            if not goods:
                if not causes:
                    return prober.result(
                        [], "all-fail",
                        f"every one of the {len(prober.cache)} instances tested failed; "
                        "no parameter value separates failures from successes")
                stuck.add(x)
                continue
            found = []
            for s in goods:
                cause = substitute(prober, x, s)
                if any(cause.holds(p) for p in prober.passing()):
                    continue  # refuted by a known success
                if cause not in found:
                    found.append(cause)
            stuck.add(x)
            for cause in found:
                if cause not in causes:
                    causes.append(cause)
                    prober.note(f"cause: {cause.text()}", cause=cause.to_json())
            if mode == "one" and causes:
                break
    except Exhausted:
        status = "budget-exhausted"
        message = prober.stop_message("the causes below are what was established so far")
    chosen = causes[:1] if mode == "one" else causes
    final = minimize(prober.space, chosen, None, rng)
    if not final and status == "found":
        status, message = "no-failure-found", "no cause could be established"
    return prober.result(final, status, message)


def shortcut(
    evaluator: Evaluator, mode: str = "one", reporter: Reporter = null_reporter, *, seed: int = 0
) -> SearchResult:
    """BugDoc's Shortcut against the farthest known (or found) success."""
    return _search(evaluator, mode, reporter, seed, stack=1)
