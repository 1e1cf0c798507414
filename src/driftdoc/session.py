"""The Session: the one place that runs instances.

Algorithms ask it for outcomes in batches. It answers from what is already known
(history in the store, earlier runs of this search), runs only the unknown ones
through the executor, records each run the moment it finishes, and counts every
execution (repeats and determinism re-runs too) against the budget. Memoisation,
budget, majority votes and replaying an interrupted search live here only.

A run that yields no verdict because the machinery failed (a ``RunError``: lost worker,
dispatch time-out, sandbox that did not start) is recorded as an error, never as a
verdict, and retried; if it keeps failing the search stops with ``InfrastructureError``
(exit 1), and a rerun resumes from every verdict recorded so far.

A session searches a finite ``Space`` (the debugging half) or an open one (``space=None``:
the environment half, whose parameters grow as the repair search learns which packages
matter); instances are keyed by their canonical mapping either way.
"""

from __future__ import annotations

import json
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from driftdoc.errors import DriftdocError, InputError
from driftdoc.events import Event, Note, Reporter, null_reporter
from driftdoc.executors.base import Executor, InfrastructureError, RunError
from driftdoc.model import Instance, Outcome, Space, Value
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


VOTES = ("run", "repeat", "import")  # stored sources that are votes on a verdict


def majority(votes: Sequence[Outcome]) -> tuple[Outcome, bool]:
    """The majority verdict of ``votes`` (an outcome on its side) and whether it is a tie."""
    fails = sum(1 for o in votes if not o.succeeded)
    ok = len(votes) - fails
    side = ok >= fails if ok != fails else votes[0].succeeded
    pick = next(o for o in votes if o.succeeded == side)
    return pick, ok == fails


class Session:
    """A memoised, budgeted oracle over a Store and an Executor (the algorithms' Evaluator).

    ``repeats`` runs every new configuration that many times and decides its verdict by
    majority; ``recheck`` re-runs known ones to test determinism. Both count against
    the budget. ``search`` names the search (its settings): runs recorded after such a
    search began are replayed, not re-run, when it is started again, so an interrupted
    search resumes to the answer an uninterrupted one gives.

    ``space=None`` opens the space: any mapping is an instance. ``meta`` names the
    experiment for people (``driftdoc history``); ``exclusive=False`` skips the claim on
    the experiment, for searches that may share one harmlessly (two snippets with the same
    content in one batch record the same verdicts).
    """

    def __init__(
        self,
        space: Space | None,
        executor: Executor,
        *,
        store: Store | None = None,
        experiment: str = "default",
        budget: int | None = None,
        reporter: Reporter = null_reporter,
        repeats: int = 1,
        search: Mapping[str, object] | None = None,
        error_retries: int = 2,
        meta: Mapping[str, object] | None = None,
        exclusive: bool = True,
    ) -> None:
        if budget is not None and budget < 0:
            raise InputError(f"the budget must be 0 or more, got {budget}")
        if repeats < 1:
            raise InputError(f"repeats must be 1 or more, got {repeats}")
        self._space = space
        self.executor = executor
        self.store = store if store is not None else Store.memory()
        self.experiment = experiment
        if exclusive:
            self.store.claim(experiment)  # one searching process per experiment and store
        self.experiment_id = self.store.experiment(experiment, space, meta)
        if meta:
            stored = self.store.experiment_meta(self.experiment_id)
            missing = {k: v for k, v in meta.items() if k not in stored}
            if missing:  # an experiment an older version created, unnamed
                self.store.update_meta(self.experiment_id, missing)
        self.error_retries = error_retries
        self.errors = 0
        self.budget = budget
        self.reporter = reporter
        self.repeats = repeats
        self.reserve = 0  # executions held back from the algorithm (for determinism checks)
        self.runs = 0  # executions deciding new verdicts (repeats and replays included)
        self.reruns = 0  # executions re-running known verdicts
        self.replayed = 0  # of those, answered from the records of an interrupted attempt
        self._known: dict[Instance, Outcome] = {}
        self._votes: dict[Instance, list[Outcome]] = {}  # votes of undecided instances
        self._pool: dict[tuple[str, Instance], deque[Outcome]] = {}
        self.conflicts: set[Instance] = set()  # verdicts that did not repeat
        self.split: set[Instance] = set()  # repeats disagreed, the majority decided
        self.rechecked: set[Instance] = set()
        self.resumed = False
        start: int | None = None
        if search is not None:
            signature = json.dumps(dict(search), sort_keys=True, default=str)
            start, self.resumed = self.store.mark_search(self.experiment_id, signature)
        self.history = self._load_history(start)

    def _load_history(self, start: int | None) -> int:
        """Verdicts recorded before this search began (conflicts noted); the runs after
        ``start`` go to the replay pool."""
        votes: dict[Instance, list[Outcome]] = {}
        rechecks: list[tuple[Instance, Outcome]] = []
        for rec in self.store.runs(self.experiment_id):
            try:
                inst = self.instance(rec.params)
            except InputError:
                continue  # recorded under an older space; not part of this search
            kind = "recheck" if rec.source == "recheck" else "run" if rec.source in VOTES \
                else None
            if kind is None:
                continue  # not a verdict (an error of the machinery, another tool's row)
            if start is not None and rec.id > start:
                self._pool.setdefault((kind, inst), deque()).append(rec.outcome)
            elif kind == "run":
                votes.setdefault(inst, []).append(rec.outcome)
            else:
                rechecks.append((inst, rec.outcome))
        for inst, vs in votes.items():
            if len(vs) >= self.repeats:
                self._decide(inst, vs)
            else:
                self._votes[inst] = vs  # topped up to ``repeats`` when asked for
        for inst, outcome in rechecks:
            if inst in self._known and outcome.succeeded != self._known[inst].succeeded:
                self.conflicts.add(inst)
        return len(self._known)

    def _decide(self, inst: Instance, votes: list[Outcome]) -> Outcome:
        outcome, tie = majority(votes[: self.repeats])
        if tie or any(o.succeeded != outcome.succeeded for o in votes[self.repeats:]):
            self.conflicts.add(inst)
        elif any(o.succeeded != outcome.succeeded for o in votes):
            self.split.add(inst)
        self._known[inst] = outcome
        return outcome

    # -- Evaluator protocol -------------------------------------------------

    def instance(self, params: Mapping[str, Value]) -> Instance:
        """The instance for ``params``: checked against a finite space, else canonical."""
        if self._space is None:
            return Instance(params.items())
        return self._space.instance(params)

    @property
    def space(self) -> Space:
        if self._space is None:
            raise DriftdocError("an open session has no finite space")
        return self._space

    @property
    def spent(self) -> int:
        return self.runs + self.reruns

    @property
    def remaining(self) -> int | None:
        """New configurations the algorithm may still ask for (each costs ``repeats``)."""
        if self.budget is None:
            return None
        return max(0, self.budget - self.reserve - self.spent) // self.repeats

    def known(self) -> Mapping[Instance, Outcome]:
        return self._known

    def evaluate(self, instances: Sequence[Instance]) -> list[Outcome | None]:
        """Outcomes in order; unknown instances run (``repeats`` times) within the budget."""
        todo: list[Instance] = []
        queued: set[Instance] = set()
        for inst in instances:
            if inst not in self._known and inst not in queued:
                queued.add(inst)
                todo.append(inst)
        remaining = self.remaining
        if remaining is not None:
            todo = todo[:remaining]
        for round_ in range(self.repeats):
            batch = [i for i in todo if len(self._votes.get(i, ())) <= round_]
            if batch:
                for inst, outcome in self._execute(batch, "run"):
                    self._votes.setdefault(inst, []).append(outcome)
        for inst in todo:
            votes = self._votes.pop(inst, [])
            if votes:
                self._decide(inst, votes)
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

    def _execute(self, todo: list[Instance], kind: str) -> list[tuple[Instance, Outcome]]:
        """One execution per instance: from the replay pool when an earlier attempt of this
        search recorded one, else through the executor, recorded the moment it finishes."""
        done: list[tuple[Instance, Outcome]] = []
        fresh: list[Instance] = []
        for inst in todo:
            pool = self._pool.get((kind, inst))
            if pool:
                done.append((inst, pool.popleft()))
                self.replayed += 1
                self._count(kind)
            else:
                fresh.append(inst)
        if not fresh:
            return done
        self.reporter(BatchStarted(len(fresh), len(self._known), self.remaining))
        source = "recheck" if kind == "recheck" else "run"
        for inst, outcome, started in self._verdicts(fresh, source):
            finished = time.time()
            worker = worker_name(outcome.details.get("worker"), self.executor.name)
            row_source = kind if kind == "recheck" else \
                "repeat" if self._votes.get(inst) else "run"
            run_id = self.store.record(
                self.experiment_id, inst, outcome,
                started=finished - outcome.duration if outcome.duration else started,
                finished=finished, worker=worker, source=row_source,
            )
            done.append((inst, outcome))
            self._count(kind)
            self.reporter(RunFinished(inst, outcome, run_id, self.spent, self.budget))
        return done

    def _count(self, kind: str) -> None:
        if kind == "recheck":
            self.reruns += 1
        else:
            self.runs += 1

    def recheck(self, instances: Sequence[Instance]) -> list[Instance]:
        """Re-run known instances (``repeats`` times each) and return those whose verdict
        changed; as many as the budget allows, in order (see ``rechecked``).

        Re-runs are recorded as provenance but never replace the first verdict.
        """
        targets = [i for i in dict.fromkeys(instances) if i in self._known]
        if self.budget is not None:
            targets = targets[: max(0, self.budget - self.spent) // self.repeats]
        if not targets:
            return []
        votes: dict[Instance, list[Outcome]] = {}
        for _ in range(self.repeats):
            for inst, outcome in self._execute(targets, "recheck"):
                votes.setdefault(inst, []).append(outcome)
        flaky = []
        for inst in targets:
            self.rechecked.add(inst)
            again, tie = majority(votes[inst])
            first = self._known[inst].succeeded
            if tie or again.succeeded != first:
                self.conflicts.add(inst)
                flaky.append(inst)
                self.reporter(NonDeterminism(inst, first, again.succeeded))
        return flaky
