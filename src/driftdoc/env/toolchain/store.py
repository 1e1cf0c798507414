"""The environment store as a whole: list, size and prune what ``build`` left in the cache.

Sizes count each inode once, so files hardlinked between envs and the uv cache are not
double counted; after removing envs, uv prunes its caches (envs hardlink from them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftdoc.env.host.cache import (
    MARKER,
    cache_root,
    claimed,
    envs_dir,
    exclusive_bytes,
    locked,
    read_marker,
    remove_tree,
)
from driftdoc.env.toolchain.syspkgs import system_cache_dirs
from driftdoc.env.toolchain.uv import uv_binary


def disk_usage(root: Path, seen: set[tuple[int, int]] | None = None) -> tuple[int, int]:
    """(bytes on disk, files) under ``root``, counting each hardlinked inode once."""
    seen = set() if seen is None else seen
    total = files = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames + dirnames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_blocks * 512
            files += 1
    return total, files


@dataclass(frozen=True)
class EnvInfo:
    key: str
    path: Path
    python: str
    pins: list[str]
    last_used: float
    complete: bool


def list_envs() -> list[EnvInfo]:
    """All environments in the store, least recently used first."""
    root = envs_dir()
    out: list[EnvInfo] = []
    if not root.is_dir():
        return out
    for child in root.iterdir():
        if not child.is_dir() or child.name.startswith("."):
            continue
        meta = read_marker(child)
        try:
            used = (child / MARKER).stat().st_mtime if meta else child.stat().st_mtime
        except OSError:
            continue
        out.append(EnvInfo(child.name, child, str((meta or {}).get("python", "?")),
                           list((meta or {}).get("pins", [])), used, meta is not None))
    out.sort(key=lambda e: e.last_used)
    return out


@dataclass(frozen=True)
class CacheInfo:
    location: Path
    envs: int
    incomplete: int
    bytes: int
    sections: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"location": str(self.location), "envs": self.envs,
                "incomplete_envs": self.incomplete, "bytes": self.bytes,
                "sections": self.sections}


def info() -> CacheInfo:
    """Counts and sizes on disk (hardlinks counted once across the whole cache)."""
    root = cache_root()
    envs = list_envs()
    seen: set[tuple[int, int]] = set()
    sections: dict[str, int] = {}
    total = 0
    if root.is_dir():
        # uv's cache first so that env files hardlinked from it are attributed to it.
        children = sorted(root.iterdir(), key=lambda p: (p.name != "uv", p.name))
        for child in children:
            if child.is_dir():
                size, _ = disk_usage(child, seen)
            else:
                try:
                    size = os.lstat(child).st_blocks * 512
                except OSError:
                    size = 0
            sections[child.name] = size
            total += size
    return CacheInfo(root, sum(e.complete for e in envs), sum(not e.complete for e in envs),
                     total, sections)


@dataclass(frozen=True)
class PruneResult:
    removed: list[str]
    skipped_in_use: list[str]
    freed_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {"removed": self.removed, "skipped_in_use": self.skipped_in_use,
                "freed_bytes": self.freed_bytes}


def remove_env(key: str, path: Path) -> bool:
    """Remove an env unless it is being built or a run holds its lease (False then)."""
    with locked(f"env-{key}", blocking=False) as got, claimed(f"env-{key}") as free:
        if not (got and free):
            return False
        remove_tree(path)
        return True


def _remove_env(env: EnvInfo) -> bool:
    return remove_env(env.key, env.path)


def prune(*, older_than: float | None = None, max_bytes: int | None = None,
          all_: bool = False) -> PruneResult:
    """Remove envs unused for ``older_than`` seconds, then LRU envs until the cache fits in
    ``max_bytes``; ``all_`` removes everything (envs, uv cache, resolutions, 2.7 tools).
    Envs being built or used right now (lock held) are skipped."""
    root = cache_root()
    before = info().bytes if root.is_dir() else 0
    removed: list[str] = []
    skipped: list[str] = []
    if all_:
        for env in list_envs():
            (removed if _remove_env(env) else skipped).append(env.key)
        if root.is_dir():
            for child in root.iterdir():
                if child.name in ("envs", "locks"):
                    continue
                if child.is_dir():
                    remove_tree(child)
                else:
                    child.unlink(missing_ok=True)
    else:
        envs = _remove_stale(older_than, removed, skipped)
        if max_bytes is not None:
            total = info().bytes
            while envs and total > max_bytes:
                env = envs.pop(0)
                freed = exclusive_bytes(env.path)
                if _remove_env(env):
                    removed.append(env.key)
                    total -= freed
                else:
                    skipped.append(env.key)
        if removed:
            _prune_uv_caches(root)
    after = info().bytes if root.is_dir() else 0
    return PruneResult(removed, skipped, max(0, before - after))


def _remove_stale(older_than: float | None, removed: list[str],
                  skipped: list[str]) -> list[EnvInfo]:
    """Remove half-built envs and those unused for ``older_than`` seconds; the rest, LRU
    first."""
    now = time.time()
    envs = list_envs()
    for env in list(envs):
        if not env.complete or (older_than is not None and now - env.last_used > older_than):
            if now - env.last_used < 60 and not env.complete:
                continue  # probably being built right now
            (removed if _remove_env(env) else skipped).append(env.key)
            envs.remove(env)
    return envs


def reclaim(older_than: float) -> PruneResult:
    """``prune(older_than=...)`` for a disk running low in the middle of work: the gain is
    read off the disk, since sizing the cache walks every file of it (minutes)."""
    root = cache_root()
    if not root.is_dir():
        return PruneResult([], [], 0)
    free = shutil.disk_usage(root).free
    removed: list[str] = []
    skipped: list[str] = []
    _remove_stale(older_than, removed, skipped)
    if removed:
        _prune_uv_caches(root)
    return PruneResult(removed, skipped, max(0, shutil.disk_usage(root).free - free))


def _prune_uv_caches(root: Path) -> None:
    """Let uv drop the entries of its caches that nothing refers to any more.

    Environments hardlink their files from uv's cache, so removing environments frees
    little until uv prunes; the environments left keep their links, whatever uv removes.
    """
    caches = [root / "uv", *system_cache_dirs(root / "uv")]
    for path in caches:
        if not path.is_dir():
            continue
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run([uv_binary(), "cache", "prune", "--cache-dir", str(path)],
                           capture_output=True, timeout=600, check=False)
