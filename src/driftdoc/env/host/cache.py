"""The bottom of the environment half: where every on-disk cache lives, named locks, and
writes that readers see whole or not at all.

Layout under :func:`cache_root` (``$DRIFTDOC_CACHE_DIR`` or ``~/.cache/driftdoc``)::

    envs/<key>/                 one environment; complete iff it holds MARKER (written last)
    locks/<key>.lock            flock taken while building, reusing-checking or pruning <key>
    resolve/<key>.json          cached resolutions (see driftdoc.env.toolchain.resolve)
    uv/                         uv's cache (envs hardlink their files from here: shared store)
    py27/                       pip cache, wheelhouse and tool venv for the Python 2.7 path

Envs are built in place under the lock and become visible only when the marker appears, so
a crashed build is detected (no marker) and rebuilt. The marker's mtime is the last use
(LRU). Sizes count each inode once, so files hardlinked between envs and the uv cache are
not double counted (``toolchain.store`` sizes and prunes the store).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MARKER = ".driftdoc-env.json"

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


def cache_root() -> Path:
    """``$DRIFTDOC_CACHE_DIR`` or ``~/.cache/driftdoc`` (read on every call, so tests can
    point it elsewhere)."""
    env = os.environ.get("DRIFTDOC_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "driftdoc"


def envs_dir() -> Path:
    return cache_root() / "envs"


@contextlib.contextmanager
def locked(name: str, *, blocking: bool = True) -> Iterator[bool]:
    """Hold the named lock across threads *and* processes; yields False if not acquired."""
    with _thread_locks_guard:
        tlock = _thread_locks.setdefault(name, threading.Lock())
    if not tlock.acquire(blocking):
        yield False
        return
    try:
        path = cache_root() / "locks" / f"{name}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        tlock.release()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so readers see either nothing or the whole file."""
    write_bytes_atomic(path, json.dumps(data, indent=1, sort_keys=True).encode())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` so readers see either nothing or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_marker(env_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((env_dir / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def touch(env_dir: Path) -> None:
    """Record a use of ``env_dir`` (LRU order for prune)."""
    with contextlib.suppress(OSError):
        os.utime(env_dir / MARKER)


def remove_tree(path: Path) -> None:
    """Delete ``path``: rename aside first so a half-deleted tree never looks usable."""
    if not path.exists():
        return
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.replace(path, trash)
    except OSError:
        trash = path
    shutil.rmtree(trash, ignore_errors=True)
