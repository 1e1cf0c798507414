"""Run a build tool with a time limit that kills its whole process tree.

``subprocess.run(timeout=...)`` kills only the direct child; a resolver or installer
building an sdist leaves compilers running. Builds that take longer than the limit
are install failures: the search then moves to a release or Python that has wheels.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from typing import Any

BUILD_TIMEOUT = float(os.environ.get("DRIFTDOC_BUILD_TIMEOUT", "180"))

# A monotonic deadline for everything this context builds (a snippet's time limit).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("deadline",
                                                                       default=None)


@contextlib.contextmanager
def deadline(at: float | None) -> Iterator[None]:
    """Bound every build started in this context by a monotonic deadline."""
    token = _deadline.set(at)
    try:
        yield
    finally:
        _deadline.reset(token)


def build_limit() -> float:
    """Seconds a build may take now: the build timeout, or less near the deadline."""
    at = _deadline.get()
    if at is None:
        return BUILD_TIMEOUT
    return max(1.0, min(BUILD_TIMEOUT, at - time.monotonic()))


def run_bounded(argv: Sequence[str], *, timeout: float | None = None, input: str | None = None,
                **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Like ``subprocess.run(..., text=True, capture_output=True)``, killing the group.

    Raises ``subprocess.TimeoutExpired`` after the whole process group is gone.
    """
    limit = build_limit() if timeout is None else timeout
    kwargs["stdin"] = subprocess.PIPE if input is not None else subprocess.DEVNULL
    # A private TMPDIR, removed afterwards: a killed pip or compiler leaves its unpacked
    # wheels and assembler files behind, and a long batch would fill the disk with them.
    scratch = tempfile.mkdtemp(prefix="driftdoc-tmp-")
    env = dict(kwargs.pop("env", None) or os.environ)
    env["TMPDIR"] = scratch
    try:
        with subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True, env=env, **kwargs) as proc:
            try:
                out, err = proc.communicate(input=input, timeout=limit)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                raise
            return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
