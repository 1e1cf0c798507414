"""Synthetic benchmark of the debugging algorithms: driftdoc's and BugDoc's, side by side.

Usage::

    python benchmarks/debug_synthetic.py --problems 100
    python benchmarks/debug_synthetic.py --problems 100 --bugdoc-python .bench/bugdoc/python
    python benchmarks/debug_synthetic.py --families rare --history random

Problem families (``driftdoc.algorithms.synthetic``): ``rare`` (10 x 6 values, one
cause of three equalities: 1 configuration in 216), ``multi`` (12 x 6, two or three
causes on disjoint parameters, equalities and thresholds mixed), ``mixed`` (12 x 6,
one cause mixing equalities and thresholds) and ``random`` (BugDoc-style: 3-12
parameters of 4-15 values, a literal, a conjunction or a disjunction). Every tool gets
the same history: one failing witness per cause plus three random labelled instances
(``--history random``: the three random ones only), free of charge.

driftdoc runs through ``driftdoc.debug`` exactly as a user's search does (its
determinism re-runs included in ``runs``). BugDoc 0.1's own DDT, Shortcut and Stacked
Shortcut run unchanged in a subprocess (``benchmarks/bugdoc_runner.py``, under the
interpreter given by ``--bugdoc-python``; ``benchmarks/setup-bugdoc`` makes one); this
process is their worker, answering over ZeroMQ on loopback ports with the ground
truth and counting every run. Scores are exact (``synthetic.score``): F1, *exact*
(the answer is equivalent to the truth) and, for find-one, *hit* (a cause is returned
and it is definitive and minimal).
"""

from __future__ import annotations

import argparse
import ast
import json
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import driftdoc
from driftdoc.algorithms.synthetic import FAMILIES, Problem, generate, generate_family, score
from driftdoc.model import Conjunction, Instance, Outcome, Predicate
from driftdoc.store import Store

ALL_FAMILIES = (*FAMILIES, "random")
RUNNER = Path(__file__).with_name("bugdoc_runner.py")


@dataclass
class Row:
    family: str
    tool: str
    algorithm: str
    mode: str
    f1: float
    exact: bool
    hit: bool
    runs: int
    reruns: int
    seconds: float


def problem(family: str, seed: int) -> Problem:
    return generate(seed) if family == "random" else generate_family(family, seed)


def history(p: Problem, witnesses: bool) -> dict[Instance, bool]:
    return p.start(witnesses)


def run_driftdoc(p: Problem, algorithm: str, mode: str,
                 witnesses: bool) -> tuple[list[Conjunction], int, int]:
    store = Store.memory()
    exp = store.experiment("bench", p.space)
    for inst, ok in history(p, witnesses).items():
        store.record(exp, inst, Outcome.of(ok), source="import")
    diag = driftdoc.debug(p.space, lambda cfg: not any(c.holds(cfg) for c in p.truth),
                          algorithm=algorithm, mode=mode, budget=p.budget, store=store,
                          experiment="bench")
    return list(diag.causes), diag.runs, diag.reruns


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TruthWorker:
    """BugDoc's worker, answering every request with the ground truth (and counting)."""

    def __init__(self, p: Problem) -> None:
        import zmq

        self.problem = p
        self.push, self.pull = _free_port(), _free_port()
        self.context = zmq.Context()
        self.receiver = self.context.socket(zmq.PULL)
        self.receiver.connect(f"tcp://127.0.0.1:{self.push}")
        self.sender = self.context.socket(zmq.PUSH)
        self.sender.connect(f"tcp://127.0.0.1:{self.pull}")
        self.runs = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import zmq

        poller = zmq.Poller()
        poller.register(self.receiver, zmq.POLLIN)
        while not self.stop.is_set():
            if not dict(poller.poll(100)):
                continue
            fields = self.receiver.recv_string().split("|")
            values = ast.literal_eval(fields[1])
            names = ast.literal_eval(fields[2])
            cfg = dict(zip(names, values, strict=True))
            ok = not any(c.holds(cfg) for c in self.problem.truth)
            self.runs += 1
            self.sender.send_string(str([*values, str(ok)]))

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.receiver.close(linger=0)
        self.sender.close(linger=0)
        self.context.term()


def _cause(items: list[list[Any]]) -> Conjunction:
    return Conjunction(Predicate(str(n), op, v) for n, op, v in items)


def run_bugdoc(python: str, p: Problem, algorithm: str, mode: str,
               witnesses: bool) -> tuple[list[Conjunction], int, int]:
    for _attempt in range(4):  # a free port can be taken between choosing and binding it
        try:
            return _run_bugdoc(python, p, algorithm, mode, witnesses)
        except PortTaken:
            continue
    raise SystemExit("BugDoc's dispatcher could not bind a loopback port four times")


class PortTaken(Exception):
    """BugDoc's dispatcher found its port in use."""


def _run_bugdoc(python: str, p: Problem, algorithm: str, mode: str,
                witnesses: bool) -> tuple[list[Conjunction], int, int]:
    worker = TruthWorker(p)
    try:
        rows = [[*inst.values_list(), ok] for inst, ok in history(p, witnesses).items()]
        job = {"algorithm": algorithm, "mode": mode, "budget": p.budget, "history": rows,
               "space": [[q.name, list(q.values)] for q in p.space.parameters],
               "push": worker.push, "pull": worker.pull}
        done = subprocess.run([python, str(RUNNER)], input=json.dumps(job), text=True,
                              capture_output=True, timeout=900, check=False)
    finally:
        worker.close()
    if done.returncode != 0 and "Address already in use" in done.stderr:
        raise PortTaken
    if done.returncode != 0:
        raise SystemExit(f"BugDoc's {algorithm} failed on {p.shape} seed {p.seed}:\n"
                         f"{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return [_cause(c) for c in out["causes"]], worker.runs, 0


def measure(tool: str, python: str | None, family: str, algorithm: str, mode: str,
            problems: int, seed: int, witnesses: bool) -> list[Row]:
    rows = []
    for i in range(problems):
        p = problem(family, seed + i)
        t0 = time.perf_counter()
        if tool == "driftdoc":
            causes, runs, reruns = run_driftdoc(p, algorithm, mode, witnesses)
        else:
            assert python is not None
            causes, runs, reruns = run_bugdoc(python, p, algorithm, mode, witnesses)
        dt = time.perf_counter() - t0
        s = score(p.space, p.truth, causes)
        rows.append(Row(family, tool, algorithm, mode, s.f1, s.exact,
                        s.definitive_all and s.minimal, runs, reruns, dt))
    return rows


def _mean(xs: list[float]) -> float:
    return statistics.fmean(xs) if xs else 0.0


def table(rows: list[Row]) -> str:
    head = (f"{'family':<8} {'tool':<9} {'algorithm':<9} {'mode':<5} {'n':>4} {'F1':>6} "
            f"{'exact':>7} {'hit':>7} {'runs':>7} {'max':>5} {'re-runs':>7} {'s':>6}")
    lines = [head]
    groups: dict[tuple[str, str, str, str], list[Row]] = defaultdict(list)
    for r in rows:
        groups[(r.family, r.tool, r.algorithm, r.mode)].append(r)
    for (family, tool, algorithm, mode), rs in groups.items():
        lines.append(
            f"{family:<8} {tool:<9} {algorithm:<9} {mode:<5} {len(rs):>4} "
            f"{_mean([r.f1 for r in rs]):>6.3f} {_mean([float(r.exact) for r in rs]):>7.1%} "
            f"{_mean([float(r.hit) for r in rs]):>7.1%} {_mean([float(r.runs) for r in rs]):>7.1f} "
            f"{max(r.runs for r in rs):>5} {_mean([float(r.reruns) for r in rs]):>7.1f} "
            f"{_mean([r.seconds for r in rs]):>6.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--problems", type=int, default=100, help="problems per family")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--families", nargs="+", default=list(ALL_FAMILIES), choices=ALL_FAMILIES)
    ap.add_argument("--algorithms", nargs="+", default=["ddt", "shortcut", "stacked"],
                    choices=["ddt", "shortcut", "stacked"])
    ap.add_argument("--modes", nargs="+", default=["all", "one"], choices=["all", "one"])
    ap.add_argument("--history", default="witnesses", choices=["witnesses", "random"])
    ap.add_argument("--bugdoc-python", help="an interpreter that can import bugdoc "
                    "(benchmarks/setup-bugdoc makes one); without it only driftdoc runs")
    args = ap.parse_args(argv)
    tools = ["driftdoc"] + (["bugdoc"] if args.bugdoc_python else [])
    witnesses = args.history == "witnesses"
    t0 = time.perf_counter()
    rows: list[Row] = []
    for family in args.families:
        for algorithm in args.algorithms:
            for mode in args.modes:
                for tool in tools:
                    rows += measure(tool, args.bugdoc_python, family, algorithm, mode,
                                    args.problems, args.seed, witnesses)
        print(table([r for r in rows if r.family == family]), flush=True)
        print(flush=True)
    print(f"({args.problems} problems per family from seed {args.seed}, history: "
          f"{args.history}; {time.perf_counter() - t0:.0f} s on {platform.machine()}, "
          f"Python {platform.python_version()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
