"""A validation as an executor's job: the store's canonical instance in, an Outcome out.

The repair search and ``explain`` evaluate through the project's ``Session`` and an
``Executor`` like any other search. An executor runs picklable ``Instance -> Outcome``
jobs, so a validation travels as the attempt's key (``Attempt.key()``), and
:class:`ValidationTask` rebuilds the attempt where it runs, validates it and reduces the
verdict to an ``Outcome`` whose ``details["verdict"]`` is the whole verdict. A worker that
cannot see the snippet's path gets its files in a :class:`SnippetBundle`. A failure of the
machinery (anything the validator raises) is a ``RunError``, never a verdict.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from driftdoc.env.validation.failure import Kind
from driftdoc.env.validation.verdict import Attempt, Verdict
from driftdoc.executors.base import RunError
from driftdoc.model import Instance, Outcome

BUNDLE_MAX = 64 * 1024 * 1024
"""Most bytes a bundle carries (the snippet always; neighbours while they fit)."""


def attempt_instance(attempt: Attempt) -> Instance:
    """The store's canonical instance for an attempt (its memo key)."""
    return Instance(attempt.key().items())


def verdict_outcome(verdict: Verdict) -> Outcome:
    """A verdict as the Session records it: the bool, the kind, and the whole verdict."""
    return Outcome(verdict.ok, verdict.kind.value,
                   verdict.exception_message or verdict.note, verdict.seconds,
                   {"verdict": verdict.to_json(),
                    "worker": {"host": socket.gethostname(), "pid": os.getpid()}})


def outcome_verdict(outcome: Outcome) -> Verdict:
    """The verdict a recorded outcome carries (rows of every version since the memo)."""
    data = outcome.details.get("verdict")
    if isinstance(data, dict) and "kind" in data:
        return Verdict.from_json(data)
    return Verdict(Kind.CRASH, exception_message=outcome.message,
                   note="recorded without the validation's verdict")


@dataclass(frozen=True)
class SnippetBundle:
    """A snippet's file and the neighbours a validation copies into the sandbox, as bytes:
    what a worker on another machine needs to validate it exactly as here."""

    name: str  # the snippet's file name
    files: tuple[tuple[str, bytes], ...]  # (path relative to the snippet's folder, bytes)

    @classmethod
    def of(cls, snippet: Path) -> SnippetBundle:
        from driftdoc.env.validation.validate import neighbours

        files = [(snippet.name, snippet.read_bytes())]
        size = len(files[0][1])
        for entry in neighbours(snippet, {snippet.name}):
            paths = [entry] if entry.is_file() else sorted(
                p for p in entry.rglob("*") if p.is_file() and not p.is_symlink())
            for path in paths:
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if size + len(data) > BUNDLE_MAX:
                    break
                size += len(data)
                files.append((str(path.relative_to(snippet.parent)), data))
        return cls(snippet.name, tuple(files))

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for rel, data in self.files:
            h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
        return h.hexdigest()[:24]

    def materialize(self, root: Path | None = None) -> Path:
        """The snippet's path in a folder holding the bundle (made once per process, in a
        folder of this process's removed when it exits, unless ``root`` is given)."""
        base = root or _own_folder()
        folder = base / self.digest
        target = folder / "snippet" / self.name
        with _bundle_lock:
            if target.is_file():
                return target
            base.mkdir(parents=True, exist_ok=True)
            stage = Path(tempfile.mkdtemp(prefix="stage-", dir=base))
            for rel, data in self.files:
                dest = stage / "snippet" / rel
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            try:
                os.rename(stage, folder)
            except OSError:  # another process made it first
                import shutil

                shutil.rmtree(stage, ignore_errors=True)
        return target


_bundle_lock = threading.Lock()
_folder: list[Path] = []


def _own_folder() -> Path:
    """This process's folder of bundles, removed at exit (a worker sees many snippets)."""
    with _bundle_lock:
        if not _folder:
            import atexit
            import shutil

            path = Path(tempfile.mkdtemp(prefix="driftdoc-bundles-"))
            atexit.register(shutil.rmtree, path, True)
            _folder.append(path)
        return _folder[0]


@dataclass(frozen=True)
class ValidationTask:
    """Validates one snippet's attempts; picklable, never raises.

    ``snippet`` is the resolved path the caller knows it by (the records name it); ``bundle`` its
    files for a worker that cannot see that path. ``deadline`` is wall-clock time
    (``time.time()``), so it means the same on every machine of a cluster.
    """

    snippet: str
    index_url: str | None = None
    timeout: float = 20.0
    sandbox: str = "bwrap"
    memory_mb: int | None = 2048
    deadline: float | None = None
    bundle: SnippetBundle | None = None

    def _path(self) -> Path:
        own = Path(self.snippet)
        if self.bundle is None:
            return own
        try:
            if own.is_file() and SnippetBundle.of(own).digest == self.bundle.digest:
                return own  # a shared filesystem: validate where the caller does
        except OSError:
            pass
        return self.bundle.materialize()

    def __call__(self, inst: Instance) -> Outcome | RunError:
        from driftdoc.env.validation.validator import SandboxValidator

        try:
            path = self._path()
            left = None if self.deadline is None else \
                time.monotonic() + (self.deadline - time.time())
            verdict = SandboxValidator(path, index_url=self.index_url, timeout=self.timeout,
                                       sandbox=self.sandbox, memory_mb=self.memory_mb,
                                       deadline=left).check(Attempt.from_key(inst))
        except Exception as exc:  # the machinery's failure, never the environment's verdict
            return RunError("worker-error", f"{type(exc).__name__}: {exc}", details={
                "params": dict(inst), "traceback": traceback.format_exc()[-4000:],
                "worker": {"host": socket.gethostname(), "pid": os.getpid()}})
        if path != Path(self.snippet) and verdict.record.get("snippet"):
            verdict.record["snippet"] = self.snippet  # as a run where the caller is says
        return verdict_outcome(verdict)
