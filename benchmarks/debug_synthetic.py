"""Synthetic benchmark of the debugging algorithms (BugDoc-style evaluation).

Usage::

    python benchmarks/debug_synthetic.py --problems 150 --seed 0
    python benchmarks/debug_synthetic.py --algorithms ddt --modes all --problems 300
    python benchmarks/debug_synthetic.py --history random   # no failing witnesses given

Each problem comes from ``driftdoc.algorithms.synthetic.generate(seed + i)``: shapes
rotate single literal / conjunction / disjunction; the history given to every
algorithm is one failing witness per truth clause plus three random instances
(not counted as runs), or with ``--history random`` only the three random ones.
Scores are exact (see ``synthetic.score``). Prints one table per algorithm and
mode, by truth shape, plus overall means.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

from driftdoc.algorithms.registry import get, names
from driftdoc.algorithms.synthetic import SHAPES, generate, score
from driftdoc.algorithms.testing import MemoryEvaluator


@dataclass
class Row:
    shape: str
    f1: float
    precision: float
    recall: float
    exact: bool
    minimal: bool
    definitive_minimal: bool
    runs: int
    budget: int
    seconds: float


def run(algorithm: str, mode: str, problems: int, seed: int, witnesses: bool = True) -> list[Row]:
    search = get(algorithm)
    rows = []
    for i in range(problems):
        p = generate(seed + i)
        ev = MemoryEvaluator(p.space, p.oracle, p.budget, p.start(witnesses))
        t0 = time.perf_counter()
        result = search(ev, mode=mode)
        dt = time.perf_counter() - t0
        s = score(p.space, p.truth, result.causes)
        rows.append(Row(p.shape, s.f1, s.precision, s.recall, s.exact, s.minimal,
                        s.definitive_all and s.minimal, ev.runs, p.budget, dt))
    return rows


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def table(algorithm: str, mode: str, rows: list[Row]) -> str:
    head = (f"{'shape':<12} {'n':>4} {'F1':>6} {'prec':>6} {'recall':>6} {'exact':>6} "
            f"{'minimal':>7} {'def+min':>7} {'runs':>6} {'max':>4} {'ms':>6}")
    lines = [f"== {algorithm}, find-{mode}", head]
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        groups[r.shape].append(r)
    for shape in [*SHAPES, "overall"]:
        rs = rows if shape == "overall" else groups.get(shape, [])
        if not rs:
            continue
        lines.append(
            f"{shape:<12} {len(rs):>4} {_mean([r.f1 for r in rs]):>6.3f} "
            f"{_mean([r.precision for r in rs]):>6.3f} {_mean([r.recall for r in rs]):>6.3f} "
            f"{_mean([float(r.exact) for r in rs]):>6.1%} "
            f"{_mean([float(r.minimal) for r in rs]):>7.1%} "
            f"{_mean([float(r.definitive_minimal) for r in rs]):>7.1%} "
            f"{_mean([float(r.runs) for r in rs]):>6.1f} {max(r.runs for r in rs):>4} "
            f"{1000 * _mean([r.seconds for r in rs]):>6.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--problems", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--algorithms", nargs="+", default=list(names()), choices=list(names()))
    ap.add_argument("--modes", nargs="+", default=["all", "one"], choices=["all", "one"])
    ap.add_argument("--history", default="witnesses", choices=["witnesses", "random"],
                    help="start from a failing witness per truth clause plus three random "
                         "instances (default), or from the three random instances only")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    summary = []
    for algorithm in args.algorithms:
        for mode in args.modes:
            rows = run(algorithm, mode, args.problems, args.seed, args.history == "witnesses")
            print(table(algorithm, mode, rows))
            print()
            summary.append(
                f"{algorithm:<9} find-{mode:<4} F1 {_mean([r.f1 for r in rows]):.3f}  "
                f"exact {_mean([float(r.exact) for r in rows]):.1%}  "
                f"definitive+minimal {_mean([float(r.definitive_minimal) for r in rows]):.1%}  "
                f"runs {_mean([float(r.runs) for r in rows]):.1f}"
            )
    print("== summary")
    print("\n".join(summary))
    print(f"({args.problems} problems from seed {args.seed}, history: {args.history}, "
          f"{time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
