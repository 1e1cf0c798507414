"""The bottom of the environment half: where every on-disk cache lives, named locks, and
writes that readers see whole or not at all.

Layout under :func:`cache_root` (``$DRIFTDOC_CACHE_DIR`` or ``~/.cache/driftdoc``)::

    envs/<key>/                 one environment; complete iff it holds MARKER (written last)
    locks/<key>.lock            flock taken while building, reusing-checking or pruning <key>
    locks/use-<name>.lock       shared while a run uses <name> (see :func:`leased`)
    used/<kind>/<name>          mtime = last use of a package in a store (LRU for the bound)
    resolve/<key>.json          cached resolutions (see driftdoc.env.toolchain.resolve)
    uv/                         uv's cache (envs hardlink their files from here: shared store)
    py27/                       pip cache, wheelhouse and tool venv for the Python 2.7 path

Envs are built in place under the lock and become visible only when the marker appears, so
a crashed build is detected (no marker) and rebuilt. The marker's mtime is the last use
(LRU). Sizes count each inode once, so files hardlinked between envs and the uv cache are
not double counted (``toolchain.store`` sizes and prunes the store, ``toolchain.bound`` keeps
the whole cache under ``DRIFTDOC_CACHE_MAX``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from driftdoc.paths import cache_root as cache_root  # its home; imported from here too

MARKER = ".driftdoc-env.json"

_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()


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


@contextlib.contextmanager
def leased(names: Iterable[str]) -> Iterator[None]:
    """Mark ``names`` (an env key, a system prefix, a package) in use while the block runs.

    Shared locks: any number of threads and processes hold one together. Eviction claims a
    name exclusively without waiting (:func:`claimed`), so it skips whatever is in use, and
    a lease asked for while a name is being evicted waits until the eviction is over (the
    user then finds it gone and builds it again).
    """
    with contextlib.ExitStack() as stack:
        for name in sorted(set(names)):  # one order everywhere
            path = cache_root() / "locks" / f"use-{name}.lock"
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context(open(path, "a+"))
            fcntl.flock(handle, fcntl.LOCK_SH)
        yield


@contextlib.contextmanager
def claimed(name: str) -> Iterator[bool]:
    """Claim ``name`` for removal: True when no lease holds it; new leases wait meanwhile."""
    path = cache_root() / "locks" / f"use-{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def note_use(kind: str, names: Iterable[str]) -> None:
    """Record a use of packages kept in a shared store (``used/<kind>/<name>``'s mtime)."""
    folder = cache_root() / "used" / kind
    with contextlib.suppress(OSError):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            path = folder / name
            try:
                os.utime(path)
            except FileNotFoundError:
                path.touch()


def exclusive_bytes(root: Path) -> int:
    """Bytes that deleting ``root`` frees: directories, and files linked from nowhere else."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if st.st_nlink == 1 or name in dirnames:
                total += st.st_blocks * 512
    return total


_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int | None:
    """``500M``, ``2G``, ``1.5g``, ``1024`` -> bytes; None if it is not a size."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtb]?)i?b?\s*", text.lower())
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2)])


def human(n: float) -> str:
    """Bytes for people: ``1.5 GiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024:
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} TiB"
