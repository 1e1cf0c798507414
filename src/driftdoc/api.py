"""The library entry point: ``driftdoc.debug(space, oracle, ...) -> Diagnosis``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from driftdoc.algorithms.logic import count
from driftdoc.algorithms.outside import MAX_PAIRS, missing_pairs, pair_count
from driftdoc.algorithms.protocol import SearchResult
from driftdoc.algorithms.verify import Verified, sample_size, verify
from driftdoc.errors import InputError
from driftdoc.events import Note, Reporter, null_reporter
from driftdoc.executors.base import Executor
from driftdoc.executors.inprocess import InProcessExecutor, Oracle
from driftdoc.model import (
    Conjunction,
    Coverage,
    Diagnosis,
    Instance,
    Outcome,
    Predicate,
    Space,
    Value,
)
from driftdoc.session import Session
from driftdoc.store import Store

ALGORITHMS = ("ddt", "shortcut", "stacked")
MODES = ("one", "all")


def as_space(space: Space | Mapping[str, Sequence[Value]]) -> Space:
    """Accept a Space or a plain ``{name: [values]}`` dict (key order = parameter order)."""
    if isinstance(space, Space):
        return space
    return Space.from_json(space)


def open_store(store: Store | str | Path | None) -> Store:
    """``None`` keeps everything in memory; a path opens (or creates) a SQLite store."""
    if store is None:
        return Store.memory()
    if isinstance(store, Store):
        return store
    return Store(store)


def default_experiment(space: Space, oracle: Oracle | None) -> str:
    """Name runs by the oracle and the space so unrelated searches never share verdicts."""
    who = "executor"
    if oracle is not None:
        who = f"{getattr(oracle, '__module__', '?')}:{getattr(oracle, '__qualname__', '?')}"
    digest = hashlib.sha256(json.dumps(space.to_json(), sort_keys=True).encode()).hexdigest()
    return f"{who}@{digest[:12]}"


def coverage(space: Space, causes: Sequence[Conjunction], known: Mapping[Instance, Outcome],
             uniform: frozenset[Instance], designs: Sequence[str], mode: str) -> Coverage:
    """What the answer covered: successes outside the causes, how many were uniform
    draws, and whether every value possible outside the causes was run there."""
    def outside(i: Instance) -> bool:
        return not any(c.holds(i) for c in causes)

    oks = [i for i, o in known.items() if o.succeeded and outside(i)]
    seen = {(n, v) for i in oks for n, v in i.items()}
    dnf = [list(c) for c in causes]
    every = True
    for p in space.parameters:
        for v in p.values:
            if (p.name, v) in seen:
                continue
            alone = [[Predicate(p.name, "==", v)]]
            if not dnf or count(space, [alone, dnf], lambda t: t[0] and not t[1]) > 0:
                every = False
                break
        if not every:
            break
    uni = sum(1 for i in uniform if i in known and known[i].succeeded and outside(i))
    pairs = every and len(space) > 1 and pair_count(space) <= MAX_PAIRS \
        and not missing_pairs(space, oks, causes)
    return Coverage(space.size, len(known), len(oks), uni, every, pairs, tuple(designs),
                    searched=mode == "all")


def _reserve(budget: int | None, repeats: int, sample: int) -> int:
    """Executions held back from the search for the determinism checks."""
    if budget is None:
        return 0
    return min(budget // 4, repeats * (sample + 16))


def _status(result: SearchResult, checked: Verified) -> tuple[str, str]:
    status, message = result.status, result.message
    if checked.flaky:
        held = f"; {len(checked.withheld)} cause(s) resting on them are withheld" \
            if checked.withheld else ""
        return ("nondeterministic",
                f"{len(checked.flaky)} configuration(s) gave different verdicts on different "
                f"runs{held}: the pipeline is not deterministic (try --repeats)")
    if checked.withheld:
        return "partial", "some causes could not be re-run and are withheld"
    if checked.unverified:
        return ("unverified", f"the budget left no room to re-run what {len(checked.unverified)}"
                " cause(s) rest on; they are listed as unverified")
    if status == "found" and result.notes:
        return "partial", "; ".join(result.notes)
    return status, message


def debug(
    space: Space | Mapping[str, Sequence[Value]],
    oracle: Oracle | None = None,
    *,
    algorithm: str = "ddt",
    mode: str = "all",
    budget: int | None = 200,
    store: Store | str | Path | None = None,
    executor: Executor | None = None,
    experiment: str | None = None,
    recheck: int | None = None,
    repeats: int = 1,
    reporter: Reporter = null_reporter,
) -> Diagnosis:
    """Find the root causes of failure of ``oracle`` over ``space``.

    ``oracle`` takes a dict of parameter values and returns True (succeeded) or an
    Outcome. ``budget`` caps executions, re-runs included; history in ``store`` is
    reused for free. Every reported cause is confirmed by re-running the verdicts
    it rests on, plus ``recheck`` other verdicts (default: about one in twenty).
    ``repeats`` decides every verdict by the majority of that many runs. A search
    started again with the same settings on the same store resumes where it stopped.
    """
    if algorithm not in ALGORITHMS:
        raise InputError(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; use 'one' or 'all'")
    if budget is not None and (not isinstance(budget, int) or budget < 0):
        raise InputError(f"the budget must be a whole number >= 0, got {budget!r}")
    if recheck is not None and recheck < 0:
        raise InputError("recheck must be 0 or more")
    if not isinstance(repeats, int) or repeats < 1:
        raise InputError(f"repeats must be a whole number >= 1, got {repeats!r}")
    sp = as_space(space)
    if executor is None:
        if oracle is None or not callable(oracle):
            raise InputError("debug() needs a callable oracle or an executor")
        executor = InProcessExecutor(oracle)
    db = open_store(store)
    name = experiment or default_experiment(sp, oracle)
    settings = {"algorithm": algorithm, "mode": mode, "repeats": repeats, "recheck": recheck}
    session = Session(sp, executor, store=db, experiment=name, budget=budget, reporter=reporter,
                      repeats=repeats, search=settings)
    if session.resumed:
        reporter(Note("resuming the same search from the store: recorded runs are replayed"))

    from driftdoc.algorithms.registry import get as get_algorithm

    extra = sample_size(len(session.known())) if recheck is None else recheck
    session.reserve = _reserve(budget, repeats, extra)
    search = get_algorithm(algorithm)
    result = search(session, mode=mode, reporter=reporter)
    extra = sample_size(len(session.known())) if recheck is None else recheck
    if result.status == "no-failure-found" and not result.causes:
        # nothing to re-check but the sample: the reserve goes on searching
        session.reserve = repeats * extra
        if session.remaining:
            again = search(session, mode=mode, reporter=reporter)
            designs = tuple(dict.fromkeys(result.designs + again.designs))
            result = replace(again, uniform=again.uniform | result.uniform, designs=designs)
    session.reserve = 0
    checked = verify(session, result.causes, extra)
    status, message = _status(result, checked)
    causes = checked.confirmed
    if status == "found" and not causes:
        status, message = "no-failure-found", "no cause could be confirmed"
    return Diagnosis(
        causes=tuple(causes),
        runs=session.spent - session.replayed,
        evaluated=len(session.known()),
        algorithm=algorithm,
        mode=mode,
        status=status,
        message=message,
        param_order=sp.names,
        nondeterministic=tuple(checked.flaky),
        budget=budget,
        coverage=coverage(sp, causes, session.known(), result.uniform, result.designs, mode),
        reruns=session.reruns,
        withheld=tuple(checked.withheld),
        unverified=tuple(checked.unverified),
        notes=tuple(result.notes),
        repeats=repeats,
        replayed=session.replayed,
    )
