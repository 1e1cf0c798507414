"""The library entry point: ``driftdoc.debug(space, oracle, ...) -> Diagnosis``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from driftdoc.errors import InputError
from driftdoc.events import Reporter, null_reporter
from driftdoc.executors.base import Executor
from driftdoc.executors.inprocess import InProcessExecutor, Oracle
from driftdoc.model import Diagnosis, Instance, Space, Value
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


def _recheck_sample(session: Session, diagnosis_causes: Sequence[Any], k: int) -> list[Instance]:
    """Which known instances to re-run: failures behind each cause first, then successes."""
    known = session.known()
    fails = [i for i, o in known.items() if not o.succeeded]
    oks = [i for i, o in known.items() if o.succeeded]
    picked: list[Instance] = []
    for cause in diagnosis_causes:
        picked.extend(i for i in fails if cause.holds(i) and i not in picked)
    picked.extend(i for i in fails if i not in picked)
    ordered: list[Instance] = []
    # interleave failures and successes so a small sample sees both verdicts
    for pair in zip(picked, oks, strict=False):
        ordered.extend(pair)
    ordered.extend(picked[len(oks):])
    ordered.extend(oks[len(picked):])
    return ordered[:k]


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
    recheck: int = 0,
    reporter: Reporter = null_reporter,
) -> Diagnosis:
    """Find the root causes of failure of ``oracle`` over ``space``.

    ``oracle`` takes a dict of parameter values and returns True (succeeded) or an
    Outcome. ``budget`` caps *new* runs; history in ``store`` is reused for free.
    ``recheck`` re-runs that many known instances to detect non-determinism.
    """
    if algorithm not in ALGORITHMS:
        raise InputError(f"unknown algorithm {algorithm!r}; use one of {', '.join(ALGORITHMS)}")
    if mode not in MODES:
        raise InputError(f"unknown mode {mode!r}; use 'one' or 'all'")
    if budget is not None and (not isinstance(budget, int) or budget < 0):
        raise InputError(f"the budget must be a whole number >= 0, got {budget!r}")
    if recheck < 0:
        raise InputError("recheck must be 0 or more")
    sp = as_space(space)
    if executor is None:
        if oracle is None or not callable(oracle):
            raise InputError("debug() needs a callable oracle or an executor")
        executor = InProcessExecutor(oracle)
    db = open_store(store)
    name = experiment or default_experiment(sp, oracle)
    session = Session(sp, executor, store=db, experiment=name, budget=budget, reporter=reporter)

    from driftdoc.algorithms.registry import get as get_algorithm

    search = get_algorithm(algorithm)
    result = search(session, mode=mode, reporter=reporter)
    if recheck:
        session.recheck(_recheck_sample(session, result.causes, recheck))
    status, message = result.status, result.message
    if session.conflicts:
        status = "nondeterministic"
        message = (
            f"{len(session.conflicts)} configuration(s) gave different verdicts on different "
            "runs; the causes below rest on untrustworthy evidence"
        )
    return Diagnosis(
        causes=tuple(result.causes),
        runs=session.runs + session.reruns,
        evaluated=len(session.known()),
        algorithm=algorithm,
        mode=mode,
        status=status,
        message=message,
        param_order=sp.names,
        nondeterministic=tuple(sorted(session.conflicts, key=lambda i: i.key)),
        budget=budget,
    )
