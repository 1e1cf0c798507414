"""Batch mode: many snippets, each in its own process, resumable, with a summary.

Each snippet runs in a child process so a crash, a leak or a hang in one cannot
take the batch down; its result is written atomically as JSON the moment it
finishes, which is also what makes a rerun skip finished snippets.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from driftdoc.env.host.cache import cache_root
from driftdoc.env.search.result import EnvResult
from driftdoc.env.search.warden import CacheWarden
from driftdoc.env.toolchain import bound
from driftdoc.errors import DriftdocError, InputError
from driftdoc.events import Event, Note, Reporter, null_reporter

SNIPPET_SUFFIXES = (".py", ".ipynb")
CSV_FIELDS = ("snippet", "status", "python", "requirements", "validations", "seconds",
              "classification", "reason")


@dataclass(frozen=True)
class Job:
    """One snippet of a batch and where its result goes."""

    name: str
    path: Path
    result: Path

    @property
    def outputs(self) -> Path:
        """Where every format of this snippet goes (Dockerfile, locks, report.html)."""
        return self.result.parent.parent / "snippets" / self.name

    @property
    def partial(self) -> Path:
        """Where the child keeps its best environment so far (used if it must be killed)."""
        return self.result.with_suffix(".partial")


def find_snippets(root: Path) -> list[tuple[str, Path]]:
    """Snippets in a folder: ``*.py``/``*.ipynb`` files, or ``*/snippet.py`` folders."""
    if not root.is_dir():
        raise InputError(f"{root} is not a directory")
    found: list[tuple[str, Path]] = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and entry.suffix in SNIPPET_SUFFIXES:
            found.append((entry.stem if entry.suffix == ".py" else entry.name, entry))
        elif entry.is_dir():
            for candidate in ("snippet.py", "snippet.ipynb"):
                if (entry / candidate).is_file():
                    found.append((entry.name, entry / candidate))
                    break
    return found


def plan_jobs(root: Path, out_dir: Path) -> tuple[list[Job], list[Job]]:
    """All jobs, split into (to do, already finished) by looking at the result files."""
    todo: list[Job] = []
    done: list[Job] = []
    for name, path in find_snippets(root):
        job = Job(name, path, out_dir / "results" / f"{name}.json")
        (done if job.result.is_file() else todo).append(job)
    return todo, done


def write_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON so that a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


@dataclass(frozen=True)
class SnippetDone(Event):
    """One snippet of the batch finished (or failed to run at all)."""

    name: str
    result: dict[str, Any]
    done: int
    total: int
    passed: int

    def describe(self) -> str:
        return f"{self.name}: {self.result.get('status')} ({self.result.get('classification')})"


@dataclass
class BatchSummary:
    """Counts and per-snippet results of a finished (or interrupted) batch."""

    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    skipped: int = 0
    interrupted: bool = False
    stopped: str | None = None  # why no further snippet was started (e.g. the disk is full)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.results.values():
            key = str(r.get("classification") or r.get("status"))
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def env_ok(result: dict[str, Any]) -> bool:
    """The environment works (resolved, or only the snippet's own code failed)."""
    return result.get("status") == "resolved" or result.get("classification") in (
        "snippet-error", "timeout-after-imports")


def child_argv(job: Job, args: list[str], *, outputs: bool = True) -> list[str]:
    """``driftdoc run`` for one snippet in a child process (its files too, if ``outputs``)."""
    return [sys.executable, "-m", "driftdoc.cli", "run", str(job.path), "--format", "json",
            "--quiet", "--checkpoint", str(job.partial),
            *(["--output", str(job.outputs)] if outputs else []), *args]


def failure_result(job: Job, why: str, seconds: float, classification: str) -> dict[str, Any]:
    """The result of a snippet whose run produced none (bad input, crash, killed)."""
    return EnvResult(snippet=str(job.path), status="unresolved", python=None, requirements=[],
                     validations=0, seconds=seconds, reason=why,
                     classification=classification).to_json()


@dataclass
class _Child:
    """A running child. Its stdout and stderr go to unnamed files, not pipes: the batch only
    reads them after the child exits, and a child blocked on a full 64 KiB pipe never would."""

    proc: subprocess.Popen[bytes]
    job: Job
    started: float
    out: IO[bytes]
    err: IO[bytes]

    @classmethod
    def start(cls, argv: list[str], job: Job) -> _Child:
        out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # noqa: SIM115
        try:
            proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except BaseException:
            out.close()
            err.close()
            raise
        return cls(proc, job, time.monotonic(), out, err)

    def finish(self) -> dict[str, Any]:
        """The result of a child that exited (closes its files)."""
        self.proc.wait()
        try:
            self.out.seek(0)
            self.err.seek(0)
            out, err = self.out.read(), self.err.read()
        finally:
            self.close()
        return child_result(self.job, out, err, self.proc.returncode,
                            time.monotonic() - self.started)

    def close(self) -> None:
        self.out.close()
        self.err.close()


def child_result(job: Job, out: bytes, err: bytes, returncode: int | None,
                 seconds: float) -> dict[str, Any]:
    """What a finished child says: its JSON result, or why it gave none."""
    try:
        data = json.loads(out.decode("utf-8", "replace") or "null")
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict) and "status" in data:
        return data
    tail = err.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if returncode == 2:
        return failure_result(job, f"not a usable snippet: {tail[0]}", seconds, "bad-input")
    return failure_result(job, f"driftdoc exited {returncode}: {tail[0]}", seconds, "error")


def timed_out(job: Job, seconds: float) -> dict[str, Any]:
    """A killed child's best environment so far, if it checkpointed one."""
    try:
        data: dict[str, Any] = json.loads(job.partial.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return failure_result(job, "time limit exceeded", seconds, "time-limit")
    data["seconds"] = round(seconds, 3)
    data["reason"] = "time limit exceeded; best environment so far"
    return data


def kill(proc: subprocess.Popen[bytes]) -> None:
    """The child and everything it started (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def min_free_bytes() -> int:
    """Free space a batch insists on before starting another snippet."""
    try:
        return int(float(os.environ.get("DRIFTDOC_MIN_FREE_MB", "1024")) * 2**20)
    except ValueError:
        return 2**30


def low_disk(paths: list[Path]) -> str | None:
    """Why the disk is too full to go on, or None."""
    need = min_free_bytes()
    for path in paths:
        try:
            free = shutil.disk_usage(path).free
        except OSError:
            continue
        if free < need:
            return (f"only {free / 2**30:.2f} GiB free on the disk of {path} (need "
                    f"{need / 2**30:.2f} GiB; DRIFTDOC_MIN_FREE_MB); free space, e.g. with "
                    "'driftdoc cache prune', and rerun to resume")
    return None


RECLAIM_AGE = 600.0
"""Environments unused this long are not the running snippets': a low disk removes them."""
RECLAIM_EVERY = 300.0
"""Listing the environments and letting uv prune walk large caches: at most once per
this many seconds."""


def _reclaim(reporter: Reporter) -> None:
    """Make room before giving up on a low disk: remove environments no running snippet
    uses (they rebuild from the package caches in seconds) and let uv drop what they held."""
    from driftdoc.env.toolchain.store import reclaim

    result = reclaim(RECLAIM_AGE)
    reporter(Note(f"low disk: removed {len(result.removed)} environment(s) unused for "
                  f"{RECLAIM_AGE / 60:.0f} min, {result.freed_bytes / 2**30:.2f} GiB freed",
                  level="warning"))


OutputWriter = Callable[[Path, dict[str, Any]], None]


def run_batch(root: Path, out_dir: Path, *, jobs: int = 1, time_limit: float = 120.0,
              child_args: list[str] | None = None, reporter: Reporter = null_reporter,
              write_outputs: OutputWriter | None = None) -> BatchSummary:
    """Run every unfinished snippet under ``root``; results land in ``out_dir``.

    Each child writes its snippet's files into ``out_dir/snippets/NAME``; for one that
    wrote none (killed, crashed, bad input) ``write_outputs(folder, result)`` does.
    """
    bound.configured_max()  # a bad DRIFTDOC_CACHE_MAX is bad input, before any work
    todo, done = plan_jobs(root, out_dir)
    if not todo and not done:
        raise InputError(f"no snippets (*.py, *.ipynb or */snippet.py) in {root}")
    summary = BatchSummary(skipped=len(done))
    for job in done:
        try:
            summary.results[job.name] = json.loads(job.result.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            todo.append(job)  # unreadable result: run it again
    total = len(todo) + len(summary.results)
    passed = sum(env_ok(r) for r in summary.results.values())
    args = [*list(child_args or []), "--time-limit", str(time_limit)]
    running: dict[int, _Child] = {}
    queue: Iterator[Job] = iter(todo)
    hard_limit = time_limit + 60.0
    reclaimed_at = -RECLAIM_EVERY
    warden = CacheWarden(out_dir / "disk.csv").start()  # the cache bound, from a thread
    try:
        exhausted = False
        while running or not exhausted:
            while not exhausted and len(running) < max(1, jobs):
                low = low_disk([cache_root(), out_dir])
                if low is not None and time.monotonic() - reclaimed_at >= RECLAIM_EVERY:
                    reclaimed_at = time.monotonic()
                    _reclaim(reporter)
                    low = low_disk([cache_root(), out_dir])
                if low is not None:
                    # a full disk turns every later snippet into a bogus install failure
                    summary.stopped, exhausted = low, True
                    break
                nxt = next(queue, None)
                if nxt is None:
                    exhausted = True
                    break
                child = _Child.start(child_argv(nxt, args), nxt)
                running[child.proc.pid] = child
            finished = []
            for pid, child in running.items():
                if child.proc.poll() is not None:
                    result = child.finish()
                    # a child that printed its result wrote its outputs too
                    finished.append((pid, result, result.get("classification") not in
                                     ("bad-input", "error")))
                elif time.monotonic() - child.started > hard_limit:
                    kill(child.proc)
                    child.close()
                    finished.append((pid, timed_out(child.job, time.monotonic() - child.started),
                                     False))
            for pid, result, has_outputs in finished:
                job = running.pop(pid).job
                write_atomic(job.result, result)
                job.partial.unlink(missing_ok=True)
                if not has_outputs and write_outputs is not None:
                    try:
                        write_outputs(job.outputs, result)
                    except (DriftdocError, OSError) as exc:
                        reporter(Note(f"{job.name}: outputs not written: {exc}",
                                      level="warning"))
                summary.results[job.name] = result
                passed += env_ok(result)
                warden.snippet_done(job.name)
                reporter(SnippetDone(job.name, result, len(summary.results), total, passed))
            for note in warden.notes():
                reporter(note)
            if not finished:
                time.sleep(0.05)
    except KeyboardInterrupt:
        summary.interrupted = True
        for child in running.values():
            kill(child.proc)
            child.close()
    finally:
        warden.stop(final=not summary.interrupted)
    write_csv(summary, out_dir / "results.csv")
    return summary


def write_csv(summary: BatchSummary, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fp:
        writer = csv.DictWriter(fp, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for name, r in sorted(summary.results.items()):
            writer.writerow({
                "snippet": name, "status": r.get("status"), "python": r.get("python"),
                "requirements": " ".join(r.get("requirements") or []),
                "validations": r.get("validations"), "seconds": r.get("seconds"),
                "classification": r.get("classification"),
                "reason": (r.get("reason") or "")[:300],
            })
