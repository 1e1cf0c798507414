"""A batch on a Dask cluster: each snippet a task on a worker, results streamed back.

The client keeps what a local batch keeps — the per-snippet JSON (written atomically: a
rerun skips finished snippets), ``results.csv``, every format and report per snippet, the
provenance store with every validation, the progress events — and needs no snippet
environment: each worker builds and caches its own (:mod:`.snippet_task`). It hands
snippets out itself, one per free worker thread, so that each goes where the
environments it needs already are (:mod:`.placement`). A snippet whose worker is lost,
or whose task fails in the worker's machinery, is run again elsewhere; it is never
recorded as the snippet's result, and one that keeps failing is left without a result
(said in a note and in ``stopped``) for a rerun to pick up.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import queue as queues
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftdoc.env.search.batch import (
    BatchSummary,
    Job,
    OutputWriter,
    SnippetDone,
    env_ok,
    failure_result,
    plan_jobs,
    write_atomic,
    write_csv,
)
from driftdoc.env.search.placement import Placer, needs
from driftdoc.env.search.snippet_task import SnippetTask, run_on_worker
from driftdoc.env.validation.task import SnippetBundle
from driftdoc.errors import DriftdocError, InputError
from driftdoc.events import Event, Note, Reporter, null_reporter
from driftdoc.store import Store

RETRIES = 2
"""Times a snippet is run again after its worker or the worker's machinery failed."""
NOTE_AFTER = 3.0
POLL = 0.1


@dataclass(frozen=True)
class SnippetPlaced(Event):
    """A snippet was handed to a worker."""

    name: str
    worker: str
    score: float

    def describe(self) -> str:
        return f"{self.name} -> {self.worker}"


@dataclass
class Flight:
    job: Job
    future: Any
    worker: str | None
    submitted: float


@dataclass
class ClusterStats:
    """What the client measured: per-snippet dispatch overhead and where snippets ran."""

    dispatch: list[float] = field(default_factory=list)  # client round trip - worker time
    placed: dict[str, list[str]] = field(default_factory=dict)  # worker -> snippets run
    retried: int = 0


def connect(spec: str, workers: int) -> tuple[Any, Any, float | None]:
    """(client, local cluster or None, seconds to wait for a worker) for ``spec``:
    ``dask://HOST:PORT`` (a running scheduler) or ``dask`` (worker processes here)."""
    from driftdoc.executors.factory import dask_target

    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise DriftdocError("a batch on Dask needs dask.distributed: "
                            "pip install 'driftdoc[dask]'") from None
    address, wait = dask_target(spec)
    cluster = None
    try:
        if address is None:
            cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                               processes=True, host="127.0.0.1",
                                               dashboard_address=None)
            client = distributed.Client(cluster)
        else:
            client = distributed.Client(address, timeout=10)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise DriftdocError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return client, cluster, wait


def _history(store: Store, experiment: str) -> tuple[str, ...]:
    from driftdoc.provenance import export_lines

    try:
        exp = store.find_experiment(experiment)
    except InputError:
        return ()
    return tuple(export_lines(store, exp))


def keep_rows(store: Store, rows: list[str]) -> None:
    """A worker's new validations of one snippet into the client's store, and where its
    searches began (so a rerun replays them as a local rerun does)."""
    from driftdoc.provenance import import_jsonl

    if not rows:
        return
    import_jsonl(store, rows)
    head = json.loads(rows[0])
    exp = store.find_experiment(head["name"])
    mine = store.experiment_meta(exp.id)
    theirs = head.get("meta") or {}
    merged = {k: v for k, v in theirs.items() if k not in mine}
    searches = dict(mine.get("searches") or {})
    for sig, where in (theirs.get("searches") or {}).items():
        searches.setdefault(sig, where)
    if searches:
        merged["searches"] = searches
    if merged:
        store.update_meta(exp.id, merged)


def run_cluster_batch(root: Path, out_dir: Path, *, spec: str, workers: int = 1,
                      time_limit: float = 120.0, child_args: list[str] | None = None,
                      index_url: str | None = None, sandbox: str = "bwrap",
                      reporter: Reporter = null_reporter,
                      write_outputs: OutputWriter | None = None, placement: bool = True,
                      retries: int = RETRIES, stats: ClusterStats | None = None
                      ) -> BatchSummary:
    """Run every unfinished snippet under ``root`` on the Dask cluster ``spec``."""
    from driftdoc.env.search.runner import memo_experiment

    todo, done = plan_jobs(root, out_dir)
    if not todo and not done:
        raise InputError(f"no snippets (*.py, *.ipynb or */snippet.py) in {root}")
    summary = BatchSummary(skipped=len(done))
    for job in done:
        try:
            summary.results[job.name] = json.loads(job.result.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            todo.append(job)
    stats = stats if stats is not None else ClusterStats()
    total = len(todo) + len(summary.results)
    passed = sum(env_ok(r) for r in summary.results.values())
    args = list(child_args or [])
    placer = Placer(enabled=placement)
    dists: dict[str, frozenset[str]] = {}

    def needed(job: Job) -> frozenset[str]:
        if job.name not in dists:
            dists[job.name] = needs(job.path)
        return dists[job.name]

    queue = list(todo)
    tries: dict[str, int] = {}
    flights: dict[str, Flight] = {}
    out_dir.mkdir(parents=True, exist_ok=True)
    store = Store(out_dir / "store.db")
    client, cluster, wait = connect(spec, workers)
    distributed: Any = importlib.import_module("distributed")
    idle_since: float | None = None
    noted = False
    # validations as the workers record them: a Ctrl-C or a lost worker loses none
    topic = f"driftdoc-validations-{uuid.uuid4().hex}"
    streamed: queues.SimpleQueue[dict[str, Any]] = queues.SimpleQueue()
    client.subscribe_topic(topic, lambda event: streamed.put(event[1]))

    def drain() -> None:
        while True:
            try:
                msg = streamed.get_nowait()
            except queues.Empty:
                return
            keep_rows(store, list(msg.get("rows") or []))

    def submit(job: Job, worker: str) -> None:
        try:
            bundle = SnippetBundle.of(job.path)
            experiment = memo_experiment(job.path, index_url, sandbox)
        except OSError as exc:  # gone or unreadable since the batch listed it
            result = failure_result(job, f"not a usable snippet: {exc}", 0.0, "bad-input")
            finish(Flight(job, None, None, time.monotonic()),
                   {"kind": "result", "result": result, "seconds": 0.0})
            return
        task = SnippetTask(job.name, str(job.path), str(job.path.resolve()), bundle,
                           tuple(args), time_limit, _history(store, experiment), experiment,
                           topic)
        score = placer.score(worker, needed(job))
        placer.placed(worker, needed(job))
        fut = client.submit(run_on_worker, task, key=f"driftdoc-{job.name}-{uuid.uuid4().hex}",
                            workers=[worker], allow_other_workers=True, pure=False)
        flights[fut.key] = Flight(job, fut, worker, time.monotonic())
        reporter(SnippetPlaced(job.name, worker, score))

    def again(flight: Flight, why: str) -> None:
        name = flight.job.name
        tries[name] = tries.get(name, 0) + 1
        stats.retried += 1
        if tries[name] > retries:
            reporter(Note(f"{name}: no result after {tries[name]} tries ({why}); not "
                          "recorded, a rerun runs it again", level="warning"))
            summary.stopped = summary.stopped or \
                f"some snippets got no result from the cluster (e.g. {name}: {why})"
            return
        reporter(Note(f"{name}: {why}; running it again", level="warning"))
        queue.insert(0, flight.job)

    def finish(flight: Flight, answer: dict[str, Any]) -> None:
        nonlocal passed
        job, result = flight.job, answer["result"]
        keep_rows(store, list(answer.get("rows") or []))
        write_atomic(job.result, result)
        if write_outputs is not None:
            try:
                write_outputs(job.outputs, result)
            except (DriftdocError, OSError) as exc:
                reporter(Note(f"{job.name}: outputs not written: {exc}", level="warning"))
        if flight.future is not None:
            where = str((answer.get("worker") or {}).get("address") or flight.worker)
            stats.placed.setdefault(where, []).append(job.name)
            stats.dispatch.append(time.monotonic() - flight.submitted - float(answer["seconds"]))
        summary.results[job.name] = result
        passed += env_ok(result)
        reporter(SnippetDone(job.name, result, len(summary.results), total, passed))

    try:
        while queue or flights:
            threads: dict[str, int] = client.nthreads()
            for addr in set(placer.installed) - set(threads):
                placer.forget(addr)  # a lost worker's cache went with it
            busy: dict[str, int] = {}
            for f in flights.values():
                if f.worker in threads:
                    busy[f.worker] = busy.get(f.worker, 0) + 1
            for addr, n in sorted(threads.items()):
                while queue and busy.get(addr, 0) < n:
                    job = queue.pop(placer.pick(addr, queue, needed))
                    submit(job, addr)
                    busy[addr] = busy.get(addr, 0) + 1
            if not threads:
                now = time.monotonic()
                idle_since = idle_since or now
                if now - idle_since >= NOTE_AFTER and not noted:
                    noted = True
                    reporter(Note(f"no Dask worker in the cluster at {spec} after "
                                  f"{now - idle_since:.0f} s; waiting", level="warning"))
                if wait is not None and now - idle_since >= wait:
                    summary.stopped = (f"no Dask worker in the cluster at {spec} for "
                                       f"{wait:g} s; start workers and rerun to resume")
                    for flight in flights.values():
                        flight.future.cancel()
                    break
            else:
                idle_since, noted = None, False
            drain()
            finished = [f for f in flights.values() if f.future.status != "pending"]
            for flight in finished:
                del flights[flight.future.key]
                _settle(flight, finish, again)
            if not finished and flights:  # back as soon as a task ends
                with contextlib.suppress(TimeoutError, distributed.TimeoutError):
                    distributed.wait([f.future for f in flights.values()], timeout=POLL,
                                     return_when="FIRST_COMPLETED")
            elif not finished:
                time.sleep(POLL)
    except KeyboardInterrupt:
        summary.interrupted = True
        for flight in flights.values():
            flight.future.cancel()
    except (OSError, TimeoutError) as exc:  # the scheduler went away (CommClosedError, ...)
        summary.stopped = (f"lost the Dask scheduler at {spec} ({type(exc).__name__}: {exc}); "
                           "finished snippets are kept, rerun to resume")
    finally:
        drain()
        store.close()
        client.close()
        if cluster is not None:
            cluster.close()
    write_csv(summary, out_dir / "results.csv")
    return summary


def _settle(flight: Flight, finish: Callable[[Flight, dict[str, Any]], None],
            again: Callable[[Flight, str], None]) -> None:
    """A task that is no longer pending: its result, or why it has none (never a verdict)."""
    fut = flight.future
    if fut.status == "finished":
        try:
            answer = fut.result()
        except Exception as exc:  # the result could not be fetched: the worker went away
            again(flight, f"result lost ({type(exc).__name__}: {exc})")
            return
        if isinstance(answer, dict) and answer.get("kind") == "result":
            finish(flight, answer)
        else:
            why = answer.get("message") if isinstance(answer, dict) else None
            again(flight, f"the worker's machinery failed ({why or answer!r})")
        return
    problem: object
    try:
        problem = fut.exception(timeout=5)
    except Exception as err:
        problem = err
    again(flight, f"the worker was lost or the task failed "
          f"({type(problem).__name__}: {problem})")
