"""Run one configuration of a pipeline: on the experiment's snapshot, sandboxed; evaluate.

``PipelineRunner(spec)`` is a picklable callable ``Instance -> Outcome | RunError`` that
never raises. Failure categories of a verdict: ``timeout``, ``memory``, ``disk``,
``processes`` (limits), ``crash`` (the callable raised or the process died of a signal),
``exit-status`` (non-zero exit), ``evaluation`` (the run finished but the evaluation said
no), ``evaluation-error`` (the evaluation itself failed). A run that could not be started
(no work dir, a sandbox that did not come up) is a ``RunError`` of kind ``sandbox``: it
says nothing about the configuration. So is a snapshot that is missing on this worker
(kind ``snapshot``).

Every run sees the experiment's snapshot of the inputs (``pipeline/snapshot.py``), never
the live files: as symlinks into the snapshot's read-only trees under the bwrap sandbox,
or as private copies with ``--sandbox none`` or ``writable_inputs = true``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from driftdoc.errors import DriftdocError
from driftdoc.executors.base import RunError
from driftdoc.model import Outcome, Value
from driftdoc.pipeline.digests import file_sha256, walk_files
from driftdoc.pipeline.evaluation import evaluate
from driftdoc.pipeline.snapshot import Snapshot, SnapshotMissing, SnapshotStore, remove_tree
from driftdoc.pipeline.spec import PipelineSpec
from driftdoc.sandbox import (
    Limits,
    Policy,
    SandboxResult,
    describe,
    run_sandboxed,
    sandbox_details,
    scrubbed_env,
)

SHIM = Path(__file__).with_name("_shim.py")
PARAMS_FILE = ".driftdoc-params.json"
RESULT_FILE = ".driftdoc-result.json"
TEXT_TAIL = 4096
SMALL_VALUE = 4096
MAX_OUTPUTS = 200


def _text(data: bytes) -> str:
    return data[-TEXT_TAIL:].decode("utf-8", errors="replace")


def _state(workdir: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for f in walk_files(workdir):
        st = f.stat()
        out[f.relative_to(workdir).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def _small(value: Any) -> Any:
    """Keep a captured value only if it is small; the store holds one per run."""
    text = json.dumps(value, default=repr)
    if len(text) <= SMALL_VALUE:
        return value
    return {"truncated": True, "size": len(text), "head": text[:SMALL_VALUE // 4]}


def _inputs_summary(digests: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Per-file digests, or for large inputs one combined digest (the store keeps every run)."""
    if len(digests) <= MAX_OUTPUTS:
        return dict(digests)
    combined = hashlib.sha256("\n".join(f"{p} {d}" for p, d in digests).encode()).hexdigest()
    return {"files": len(digests), "combined_sha256": combined}


_taking = threading.Lock()


class PipelineRunner:
    """The per-instance job of a pipeline search; ship it to any worker (it pickles).

    ``snapshot`` is the experiment's snapshot of the inputs; without one, the runner
    takes one of the live inputs at its first run (and keeps it for every later run).
    """

    def __init__(self, spec: PipelineSpec, *, snapshot: Snapshot | None = None,
                 runs_dir: Path | None = None, worker: str | None = None) -> None:
        self.spec = spec
        self.snapshot = snapshot
        self.runs_dir = runs_dir
        self.worker = worker

    def ensure_snapshot(self) -> Snapshot:
        """The snapshot every run uses, taken now if none was given."""
        if self.snapshot is None:
            with _taking:
                if self.snapshot is None:
                    self.snapshot = SnapshotStore().take(self.spec.base, self.spec.snapshots)
        return self.snapshot

    @property
    def inputs_mode(self) -> str:
        """``link`` (read-only, free) needs the sandbox to keep runs off the snapshot."""
        if self.spec.writable_inputs or self.spec.sandbox != "bwrap":
            return "copy"
        return "link"

    def __repr__(self) -> str:
        return f"PipelineRunner({self.spec.name!r})"

    # -- pieces ------------------------------------------------------------

    def policy(self) -> Policy:
        """The sandbox shows the pipeline's own folder read-only (its code; driftdoc's
        store and runs in it stay hidden), the shim, and the trees of this experiment's
        snapshot that the input symlinks point into; it finds the program itself."""
        ro = [self.spec.base]
        if self.spec.callable is not None:
            ro.append(SHIM)
        if self.snapshot is not None and self.inputs_mode == "link":
            ro += sorted({self.snapshot.root / "trees" / e.tree for e in self.snapshot.entries})
        return Policy(mode=self.spec.sandbox, network=self.spec.network,  # type: ignore[arg-type]
                      ro_binds=tuple(ro), hidden=(self.spec.base / ".driftdoc",))

    def argv(self, params: Mapping[str, Value], inside: str) -> list[str]:
        if self.spec.callable is not None:
            return [sys.executable, str(SHIM), self.spec.callable, PARAMS_FILE, RESULT_FILE]
        return self.spec.argv(params, inside)

    def _workdir(self) -> Path:
        base = self.runs_dir
        if base is None and self.spec.keep_runs:
            base = self.spec.base / ".driftdoc" / "runs"
        if base is not None:
            base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="run-", dir=base))

    # -- the job -----------------------------------------------------------

    def __call__(self, instance: Mapping[str, Value]) -> Outcome | RunError:
        params = dict(instance)
        start = time.perf_counter()
        details: dict[str, Any] = {
            "params": params,
            "worker": {"host": socket.gethostname(), "pid": os.getpid()},
        }
        if self.worker:
            details["worker"]["id"] = self.worker
        workdir: Path | None = None
        outcome: Outcome | RunError
        try:
            snap = self.ensure_snapshot()
            details["snapshot"] = snap.id
            details["inputs"] = _inputs_summary(tuple(sorted(snap.digests(params).items())))
            workdir = self._workdir()
            outcome = self._run(params, workdir, details)
        except SnapshotMissing as exc:
            outcome = RunError("snapshot", str(exc))
        except DriftdocError as exc:
            outcome = RunError("sandbox", str(exc))
        except Exception as exc:  # the machinery failed (a full disk, a bug): no verdict
            outcome = RunError("sandbox", f"{type(exc).__name__}: {exc}")
        finally:
            if workdir is not None:
                if self.spec.keep_runs:
                    details["workdir"] = str(workdir)
                else:
                    remove_tree(workdir)
        if isinstance(outcome, RunError):
            details["duration"] = round(time.perf_counter() - start, 6)
            return RunError(outcome.kind, outcome.message, details=details)
        duration = outcome.duration or (time.perf_counter() - start)
        details["verdict"] = {"succeeded": outcome.succeeded, "category": outcome.category,
                              "message": outcome.message}
        details["duration"] = round(duration, 6)
        return Outcome(outcome.succeeded, outcome.category, outcome.message, duration, details)

    def _run(self, params: dict[str, Value], workdir: Path, details: dict[str, Any]
             ) -> Outcome | RunError:
        spec = self.spec
        assert self.snapshot is not None
        self.snapshot.materialise(workdir, params, mode=self.inputs_mode)
        if spec.callable is not None:
            (workdir / PARAMS_FILE).write_text(json.dumps(params))
        before = _state(workdir)
        policy = self.policy()
        inside = policy.workdir_path(workdir)
        argv = self.argv(params, inside)
        details["command"] = argv
        env = scrubbed_env(dict(spec.env))
        env["PYTHONPATH"] = os.pathsep.join([inside, str(spec.base)])
        limits = Limits(timeout=spec.timeout, memory_mb=spec.memory_mb, tail_bytes=64 * 1024)
        res = run_sandboxed(argv, workdir=workdir, policy=policy, limits=limits, env=env)
        details["sandbox"] = sandbox_details(res, policy)
        details["returncode"] = res.returncode
        details["stdout"] = _text(res.stdout_tail)
        details["stderr"] = _text(res.stderr_tail)
        shim: dict[str, Any] = {}
        if spec.callable is not None and (workdir / RESULT_FILE).is_file():
            try:
                shim = json.loads((workdir / RESULT_FILE).read_text())
            except (OSError, ValueError):
                shim = {}
        if res.sandbox_startup is None:
            # the command never started, so nothing here (not even a "disk" or "timeout"
            # read off the sandbox's own messages) is about the configuration
            return RunError("sandbox", f"the sandbox did not start ({describe(res)}): "
                            f"{details['stderr'].strip()[-300:]}")
        details["outputs"] = self._outputs(workdir, before)
        if "value" in shim:
            details["value"] = _small(shim["value"])
        failed = self._failure(res, shim)
        if failed is not None:
            message = failed[1]
            if self.inputs_mode == "link" and b"Read-only file system" in res.stderr_tail:
                message += (" (inputs are the experiment's read-only snapshot; set "
                            "writable_inputs = true if the pipeline writes into them)")
            return Outcome(False, failed[0], message, res.duration)

        outputs = {
            "params": params,
            "returncode": res.returncode,
            "stdout": details["stdout"],
            "stderr": details["stderr"],
            "value": shim.get("value"),
            "workdir": str(workdir),
            "files": {k: v["sha256"] for k, v in details["outputs"]["files"].items()},
        }
        try:
            ok, message, info = evaluate(spec.evaluation, outputs, workdir, spec.base)
        except Exception as exc:
            details["evaluation"] = {"kind": spec.evaluation.kind, "error": str(exc)}
            return Outcome(False, "evaluation-error",
                           f"the evaluation raised {type(exc).__name__}: {exc}", res.duration)
        details["evaluation"] = {"kind": spec.evaluation.kind, "verdict": ok, **info}
        if not ok:
            return Outcome(False, "evaluation", message, res.duration)
        return Outcome(True, "", "", res.duration)

    def _failure(self, res: SandboxResult, shim: Mapping[str, Any]) -> tuple[str, str] | None:
        if res.killed_reason is not None:
            return res.killed_reason, describe(res)
        if self.spec.callable is not None:
            if shim.get("ok") is False:
                return "crash", str(shim.get("error", "the pipeline raised"))
            if not shim:
                return "crash", f"the pipeline process died ({describe(res)})"
            return None
        if res.returncode == 127 and res.stdout_bytes == 0 and b"not found" in res.stderr_tail:
            return "exit-status", describe(res)
        if res.signal is not None:
            return "crash", describe(res)
        if res.returncode != 0:
            return "exit-status", describe(res)
        return None

    def _outputs(self, workdir: Path, before: Mapping[str, tuple[int, int]]) -> dict[str, Any]:
        """Files the run created or changed (with digests), deleted inputs, small values."""
        after = _state(workdir)
        files: dict[str, dict[str, Any]] = {}
        values: dict[str, Any] = {}
        skipped = 0
        for rel, stat in sorted(after.items()):
            if rel in (PARAMS_FILE, RESULT_FILE) or before.get(rel) == stat:
                continue
            if len(files) >= MAX_OUTPUTS:
                skipped += 1
                continue
            path = workdir / rel
            files[rel] = {"sha256": file_sha256(path, cache=False), "size": stat[0]}
            if stat[0] <= SMALL_VALUE and rel.endswith(".json"):
                with contextlib.suppress(OSError, ValueError):
                    values[rel] = json.loads(path.read_text(encoding="utf-8"))
        deleted = sorted(set(before) - set(after) - {PARAMS_FILE})
        out: dict[str, Any] = {"files": files}
        if values:
            out["values"] = values
        if deleted:
            out["deleted"] = deleted
        if skipped:
            out["not_listed"] = skipped
        return out
