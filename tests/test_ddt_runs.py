"""DDT find-all's cost on multi-cause problems, checked against ground truth.

The issue's target is at most 130 runs on average (verification re-runs included) on
the synthetic ``multi`` family; a change that loses exactness or spends about 10 % more
runs than now on a few such problems fails here. Seeds 2000+ are not the benchmark's.
"""

from __future__ import annotations

import statistics

import driftdoc
from driftdoc.algorithms.synthetic import generate_family, score
from driftdoc.model import Outcome
from driftdoc.store import Store


def test_ddt_find_all_runs_on_multi_cause_problems() -> None:
    runs = []
    for seed in range(2000, 2006):
        p = generate_family("multi", seed)
        store = Store.memory()
        exp = store.experiment("multi", p.space)
        for inst, ok in p.start(True).items():
            store.record(exp, inst, Outcome.of(ok), source="import")
        diag = driftdoc.debug(p.space, lambda cfg, p=p: not any(c.holds(cfg) for c in p.truth),
                              algorithm="ddt", mode="all", budget=p.budget, store=store,
                              experiment="multi")
        s = score(p.space, p.truth, list(diag.causes))
        assert s.exact, (seed, [c.text() for c in p.truth], [c.text() for c in diag.causes])
        assert diag.status == "found" and diag.runs <= p.budget
        assert diag.coverage.every_pair  # "no further cause of 1 or 2 literals" holds
        runs.append(diag.runs)
    # 129 now; 158 before the outside design was compacted and transplant rows dropped
    assert statistics.fmean(runs) <= 143, runs


def test_compacted_outside_design_keeps_every_pair_outside_the_causes() -> None:
    import random

    from driftdoc.algorithms.outside import (
        compact,
        missing_pairs,
        outside,
        pairwise_rows,
        uniform_outside,
    )
    from driftdoc.model import Conjunction, Predicate, Space

    space = Space.from_dict({f"p{i}": [0, 1, 2, 3, 4] for i in range(7)})
    causes = [Conjunction([Predicate("p0", "==", 1), Predicate("p3", ">=", 3)]),
              Conjunction([Predicate("p5", "!=", 2)])]
    todo = missing_pairs(space, [], causes)
    rows = pairwise_rows(space, set(todo), causes, random.Random(1), 200)
    assert all(outside(r, causes) for r in rows)
    assert not missing_pairs(space, rows, causes)  # every pair possible outside is run
    # a wasteful design (random rows) shrinks a lot and still covers what it covered
    rng = random.Random(2)
    wasteful = [r for r in (uniform_outside(space, rng, causes) for _ in range(90)) if r]
    left = missing_pairs(space, wasteful, causes)
    again = compact(space, wasteful, set(todo), causes, random.Random(3))
    assert len(again) <= 0.6 * len(wasteful)
    assert all(outside(r, causes) for r in again)
    assert missing_pairs(space, again, causes) <= left
