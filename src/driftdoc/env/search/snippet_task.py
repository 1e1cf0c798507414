"""One snippet of a batch as a task on a cluster worker.

The worker does what a local batch does for one snippet: it runs ``driftdoc run`` on it in
a child process (crash and hang isolation, a hard kill past the time limit, the best
environment so far from its checkpoint), with the worker's own environment cache
(``DRIFTDOC_CACHE_DIR`` or the standard place). The task carries everything the client
knows that the worker cannot see: the snippet's files (a ``SnippetBundle``), the batch's
settings, and the snippet's validations already in the client's store (so a search
started before resumes as it would locally). It hands back the result, named by the
client's path, and the validations it recorded, for the client to keep. Nothing here
raises: a failure of the worker's machinery comes back as ``{"kind": "error"}``, which
the client retries and never records as the snippet's result.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftdoc.env.search.batch import Job, child_argv, child_result, kill, timed_out
from driftdoc.env.validation.task import SnippetBundle

GRACE = 60.0
"""Seconds past the time limit before the child is killed (as in a local batch)."""
STREAM_EVERY = 2.0
"""Seconds between sending the client the validations recorded meanwhile."""


@dataclass(frozen=True)
class SnippetTask:
    """What a worker needs to run one snippet of a batch."""

    name: str  # the batch's name for the snippet
    path: str  # where the client has it, as the batch names it (the result does so too)
    resolved: str  # the same, absolute (validation records name it so)
    bundle: SnippetBundle
    args: tuple[str, ...]  # the child's options (budget, limits, index, sandbox, ...)
    time_limit: float
    history: tuple[str, ...] = ()  # the snippet's experiment in the client's store
    experiment: str = ""
    topic: str = ""  # where validations are sent as they are recorded (Dask events)


def _where() -> dict[str, Any]:
    from driftdoc.env.host.cache import cache_root

    info: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid(),
                            "cache": str(cache_root())}
    try:
        from distributed import get_worker

        info["address"] = get_worker().address
    except (ImportError, ValueError):
        pass
    return info


def _cancelled() -> bool:
    """The client let go of this task (Ctrl-C, or the client is gone): stop the child."""
    try:
        from distributed import get_worker

        worker = get_worker()
        state = worker.state.tasks.get(worker.get_current_task())
    except (ImportError, ValueError, AttributeError):
        return False
    return state is None or state.state in ("cancelled", "released", "forgotten")


def _replace_paths(value: Any, old: str, new: str) -> Any:
    """``value`` with the worker's path of the snippet replaced by the client's."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, list):
        return [_replace_paths(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace_paths(v, old, new) for k, v in value.items()}
    return value


def _seed(store_path: Path, task: SnippetTask) -> tuple[int, int]:
    """The client's validations of this snippet, with their ids: (last run id, last error
    id) — what the child records after them is new."""
    from driftdoc.provenance import import_jsonl
    from driftdoc.store import Store

    with Store(store_path) as store:
        if task.history:
            import_jsonl(store, task.history, keep_ids=True)
        runs = [r.id for r in store.runs()]
        errors = [e.id for e in store.errors()]
    return max(runs, default=0), max(errors, default=0)


def _exactly(value: Any, old: str, new: str) -> Any:
    """``value`` with every string equal to ``old`` replaced by ``new``."""
    if isinstance(value, str):
        return new if value == old else value
    if isinstance(value, list):
        return [_exactly(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _exactly(v, old, new) for k, v in value.items()}
    return value


def _named_as_client(value: Any, snippet: Path, task: SnippetTask) -> Any:
    """``value`` naming the snippet where the client has it, not where this worker put it:
    the child ran it as ``snippet/NAME`` from the bundle's folder (what a result names),
    validations name it by its absolute path (a unique temporary folder here)."""
    value = _replace_paths(value, str(snippet.resolve()), task.resolved)
    return _exactly(value, str(Path("snippet") / snippet.name), task.path)


def _new_rows(store_path: Path, task: SnippetTask, after: tuple[int, int],
              snippet: Path) -> list[str]:
    import json

    from driftdoc.provenance import export_lines
    from driftdoc.store import Store

    with Store(store_path) as store:
        try:
            exp = store.find_experiment(task.experiment)
        except Exception:
            return []
        lines = export_lines(store, exp, after_run=after[0], after_error=after[1])
    return [json.dumps(_named_as_client(json.loads(line), snippet, task)) for line in lines]


def run_on_worker(task: SnippetTask) -> dict[str, Any]:
    """Run ``task``'s snippet here; never raises (see the module docstring)."""
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="driftdoc-task-") as tmp:
            return _run(task, Path(tmp), started)
    except Exception as exc:
        return {"kind": "error", "message": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc()[-4000:], "worker": _where(),
                "seconds": time.monotonic() - started}


def _disk_left() -> str | None:
    """Why this worker's disk is too full for a snippet (after reclaiming), or None: a
    full disk turns every build into a bogus install failure."""
    from driftdoc.env.host.cache import cache_root
    from driftdoc.env.search.batch import low_disk
    from driftdoc.env.toolchain.store import reclaim

    low = low_disk([cache_root()])
    if low is not None:
        reclaim(600.0)
        low = low_disk([cache_root()])
    return low


def _run(task: SnippetTask, tmp: Path, started: float) -> dict[str, Any]:
    low = _disk_left()
    if low is not None:
        return {"kind": "error", "message": f"this worker's disk: {low}", "worker": _where(),
                "seconds": time.monotonic() - started}
    snippet = task.bundle.materialize(tmp / "bundle")
    store_path = tmp / "store.db"
    after = _seed(store_path, task)
    # run from the bundle's folder, as "snippet/NAME": a name no other text contains
    job = Job(task.name, Path("snippet") / snippet.name, tmp / "results" / f"{task.name}.json")
    job.result.parent.mkdir(parents=True, exist_ok=True)
    argv = [*child_argv(job, [*task.args, "--store", str(store_path),
                              "--time-limit", str(task.time_limit)], outputs=False)]
    out_path, err_path = tmp / "stdout", tmp / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                cwd=snippet.parent.parent, start_new_session=True)
        sent = after
        last = time.monotonic()
        try:
            while proc.poll() is None:
                if task.topic and time.monotonic() - last >= STREAM_EVERY:
                    sent, last = _stream(store_path, task, sent, snippet), time.monotonic()
                if time.monotonic() - started > task.time_limit + GRACE:
                    kill(proc)
                    break
                if _cancelled():
                    kill(proc)
                    return {"kind": "cancelled", "worker": _where(),
                            "seconds": time.monotonic() - started}
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=0.2)  # back at once when the child ends
        finally:
            if proc.poll() is None:
                kill(proc)
    seconds = time.monotonic() - started
    if proc.returncode is not None and proc.returncode < 0 and not job.partial.exists() \
            and seconds <= task.time_limit + GRACE:
        # killed by a signal it did not send itself (the worker is shutting down)
        return {"kind": "error", "message": f"the snippet's process was killed "
                f"(signal {-proc.returncode})", "worker": _where(), "seconds": seconds}
    if seconds > task.time_limit + GRACE:
        result = timed_out(job, seconds)
    else:
        result = child_result(job, out_path.read_bytes(), err_path.read_bytes(),
                              proc.returncode, seconds)
    result = _named_as_client(result, snippet, task)
    rows = _new_rows(store_path, task, after, snippet)
    _keep_bound()
    return {"kind": "result", "result": result, "rows": rows, "worker": _where(),
            "seconds": seconds}


def _stream(store_path: Path, task: SnippetTask, sent: tuple[int, int],
            snippet: Path) -> tuple[int, int]:
    """Send the client the validations recorded since ``sent`` (a Ctrl-C or a lost worker
    then loses none of them); the ids sent up to now. Best effort: the result carries
    every validation again, and the client takes each in once."""
    import json

    try:
        from distributed import get_worker

        rows = _new_rows(store_path, task, sent, snippet)
        if len(rows) > 1:
            get_worker().log_event(task.topic, {"name": task.name, "rows": rows})
    except Exception:
        return sent
    objs = [json.loads(line) for line in rows[1:]]
    return (max((int(o["id"]) for o in objs if o["type"] == "run"), default=sent[0]),
            max((int(o["id"]) for o in objs if o["type"] == "error"), default=sent[1]))


def _keep_bound() -> None:
    """The worker's cache under its bound after each snippet (its batch has no warden)."""
    from driftdoc.env.toolchain import bound

    try:
        bound.check()
    except Exception:  # a failing check must not lose the snippet's result
        return
