"""Time-bounded build commands: the whole process tree goes, and deadlines shorten limits."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from driftdoc.env.toolchain.bounded import BUILD_TIMEOUT, build_limit, deadline, run_bounded


def _alive(marker: str) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if marker.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


def test_timeout_kills_grandchildren() -> None:
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_bounded(["sh", "-c", "sleep 4242 & sleep 4243; wait"], timeout=1)
    assert time.monotonic() - start < 10
    time.sleep(0.2)
    assert not _alive("sleep 4242") and not _alive("sleep 4243")


def test_output_and_input_pass_through() -> None:
    done = run_bounded(["sh", "-c", "cat; echo err >&2; exit 3"], input="hello\n", timeout=10)
    assert done.returncode == 3 and done.stdout == "hello\n" and done.stderr == "err\n"


def test_deadline_shortens_the_build_limit() -> None:
    assert build_limit() == BUILD_TIMEOUT
    with deadline(time.monotonic() + 5):
        assert 1.0 <= build_limit() <= 5.0
    with deadline(time.monotonic() - 100):
        assert build_limit() == 1.0  # past the deadline: fail fast, never hang
    assert build_limit() == BUILD_TIMEOUT


def test_scratch_files_of_a_killed_command_are_removed() -> None:
    """A pip or compiler killed mid-way leaves temporary files; they must not pile up."""
    with pytest.raises(subprocess.TimeoutExpired) as killed:
        run_bounded(["sh", "-c", 'echo x > "$TMPDIR/left-behind"; echo "$TMPDIR"; sleep 30'],
                    timeout=1)
    partial = killed.value.stdout
    text = partial.decode() if isinstance(partial, bytes) else str(partial)
    assert "driftdoc-tmp-" in text and not Path(text.strip()).exists()
    done = run_bounded(["sh", "-c", 'echo "$TMPDIR"; touch "$TMPDIR/f"'], timeout=10)
    scratch = Path(done.stdout.strip())
    assert scratch.name.startswith("driftdoc-tmp-") and not scratch.exists()
