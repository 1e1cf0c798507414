"""The Session: the one place that runs instances.

Algorithms ask it for outcomes in batches. It answers from what is already known
(history in the store, earlier runs of this search), runs only the unknown ones
through the executor, records each run the moment it finishes, and counts only new
runs against the budget. Memoisation, budget and "never run twice" live here only.

A run that yields no verdict because the machinery failed (a ``RunError``: lost worker,
dispatch time-out, sandbox that did not start) is recorded as an error, never as a
verdict, and retried; if it keeps failing the search stops with ``InfrastructureError``
(exit 1), and a rerun resumes from every verdict recorded so far.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from driftdoc.errors import InputError
from driftdoc.events import Event, Note, Reporter, null_reporter
from driftdoc.executors.base import Executor, InfrastructureError, RunError
from driftdoc.model import Instance, Outcome, Space
from driftdoc.store import Store


@dataclass(frozen=True)
class BatchStarted(Event):
    """A batch of new runs is about to start."""

    size: int
    known: int
    remaining: int | None

    def describe(self) -> str:
        left = "unlimited" if self.remaining is None else str(self.remaining)
        return f"running {self.size} new instance(s); {self.known} known, budget left {left}"


@dataclass(frozen=True)
class RunFinished(Event):
    """One new run finished and was recorded."""

    instance: Instance
    outcome: Outcome
    run_id: int
    runs: int
    budget: int | None

    def describe(self) -> str:
        verdict = "ok" if self.outcome.succeeded else f"FAIL {self.outcome.category}".rstrip()
        params = ", ".join(f"{k}={v}" for k, v in self.instance.items())
        return f"run {self.runs}: {params} -> {verdict}"


@dataclass(frozen=True)
class NonDeterminism(Event):
    """A re-run gave a different verdict than the recorded one."""

    instance: Instance
    first: bool
    again: bool

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.instance.items())
        return f"non-deterministic: {params} gave {self.first} then {self.again}"


def worker_name(info: object, default: str) -> str:
    """A short label for where a run happened: a remote id, else host:pid, else the executor."""
    if isinstance(info, dict):
        if info.get("id"):
            return str(info["id"])
        if info.get("host"):
            return f"{info['host']}:{info.get('pid', '?')}"
        return default
    return str(info) if info else default


class Session:
    """A memoised, budgeted oracle over a Store and an Executor (the algorithms' Evaluator)."""

    def __init__(
        self,
        space: Space,
        executor: Executor,
        *,
        store: Store | None = None,
        experiment: str = "default",
        budget: int | None = None,
        reporter: Reporter = null_reporter,
        error_retries: int = 2,
    ) -> None:
        if budget is not None and budget < 0:
            raise InputError(f"the budget must be 0 or more, got {budget}")
        self._space = space
        self.executor = executor
        self.store = store if store is not None else Store.memory()
        self.experiment = experiment
        self.store.claim(experiment)  # one searching process per experiment and store
        self.experiment_id = self.store.experiment(experiment, space)
        self.error_retries = error_retries
        self.errors = 0
        self.budget = budget
        self.reporter = reporter
        self.runs = 0
        self.reruns = 0
        self._known: dict[Instance, Outcome] = {}
        self.conflicts: set[Instance] = set()
        self.history = self._load_history()

    def _load_history(self) -> int:
        """Known outcomes of this experiment that still fit the space; conflicts are noted."""
        n = 0
        for rec in self.store.runs(self.experiment_id):
            try:
                inst = self._space.instance(rec.params)
            except InputError:
                continue  # recorded under an older space; not part of this search
            first = self._known.get(inst)
            if first is None:
                self._known[inst] = rec.outcome
                n += 1
            elif first.succeeded != rec.outcome.succeeded:
                self.conflicts.add(inst)
        return n

    # -- Evaluator protocol -------------------------------------------------

    @property
    def space(self) -> Space:
        return self._space

    @property
    def remaining(self) -> int | None:
        if self.budget is None:
            return None
        return max(0, self.budget - self.runs)

    def known(self) -> Mapping[Instance, Outcome]:
        return self._known

    def evaluate(self, instances: Sequence[Instance]) -> list[Outcome | None]:
        """Outcomes in order; unknown instances run once, within the budget."""
        todo: list[Instance] = []
        queued: set[Instance] = set()
        for inst in instances:
            if inst not in self._known and inst not in queued:
                queued.add(inst)
                todo.append(inst)
        remaining = self.remaining
        if remaining is not None:
            todo = todo[:remaining]
        if todo:
            self._run(todo, source="run")
        return [self._known.get(inst) for inst in instances]

    # -- running ------------------------------------------------------------

    def _verdicts(self, todo: list[Instance], source: str
                  ) -> Iterator[tuple[Instance, Outcome, float]]:
        """The executor's verdicts with their start times; machinery errors never pass.

        Each ``RunError`` is recorded in the store's error table and its instance re-run
        (the executors already retried elsewhere where they can) up to ``error_retries``
        more rounds; what still has no verdict stops the search.
        """
        pending = list(todo)
        for round_ in range(self.error_retries + 1):
            failed: dict[Instance, RunError] = {}
            started = time.time()
            for inst, result in self.executor.run(pending):
                if isinstance(result, RunError):
                    self._record_error(inst, result, started, source)
                    failed[inst] = result
                    continue
                yield inst, result, started
            if not failed:
                return
            pending = [i for i in pending if i in failed]
            kinds = ", ".join(f"{n} {k}" for k, n in
                              Counter(e.kind for e in failed.values()).most_common())
            if round_ < self.error_retries:
                self.reporter(Note(f"{len(pending)} run(s) gave no verdict ({kinds}); "
                                   "running them again", level="warning"))
        first = failed[pending[0]]
        raise InfrastructureError(
            f"{len(pending)} configuration(s) got no verdict after {self.error_retries + 1} "
            f"rounds ({kinds}; e.g. {first.message}); none was recorded as a verdict, and a "
            "rerun resumes from the store")

    def _record_error(self, inst: Instance, error: RunError, started: float,
                      source: str) -> None:
        self.errors += 1
        self.store.record_error(
            self.experiment_id, inst, error.kind, error.message, attempts=error.attempts,
            details=error.details, started=started, finished=time.time(),
            worker=worker_name(error.details.get("worker"), self.executor.name), source=source,
        )

    def _run(self, todo: list[Instance], *, source: str) -> dict[Instance, Outcome]:
        self.reporter(BatchStarted(len(todo), len(self._known), self.remaining))
        fresh: dict[Instance, Outcome] = {}
        for inst, outcome, started in self._verdicts(todo, source):
            finished = time.time()
            worker = worker_name(outcome.details.get("worker"), self.executor.name)
            run_id = self.store.record(
                self.experiment_id, inst, outcome,
                started=finished - outcome.duration if outcome.duration else started,
                finished=finished, worker=worker, source=source,
            )
            fresh[inst] = outcome
            if source == "run":
                self._known[inst] = outcome
                self.runs += 1
            else:
                self.reruns += 1
            self.reporter(RunFinished(inst, outcome, run_id, self.runs + self.reruns, self.budget))
        return fresh

    def recheck(self, instances: Sequence[Instance]) -> list[Instance]:
        """Re-run known instances and return those whose verdict changed.

        Re-runs are recorded as provenance but never replace the first verdict.
        """
        targets = [i for i in dict.fromkeys(instances) if i in self._known]
        if not targets:
            return []
        fresh = self._run(targets, source="recheck")
        flaky = []
        for inst, outcome in fresh.items():
            first = self._known[inst].succeeded
            if outcome.succeeded != first:
                self.conflicts.add(inst)
                flaky.append(inst)
                self.reporter(NonDeterminism(inst, first, outcome.succeeded))
        return flaky
