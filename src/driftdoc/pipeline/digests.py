"""sha256 of input files, cached by (path, size, mtime) so a search hashes its data once."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

_cache: dict[tuple[str, int, int], str] = {}
_lock = threading.Lock()


def file_sha256(path: Path, *, cache: bool = True) -> str:
    """Digest of one file, reusing an earlier result while its size and mtime are unchanged."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _lock:
        hit = _cache.get(key) if cache else None
    if hit is not None:
        return hit
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    digest = h.hexdigest()
    if cache:
        with _lock:
            _cache[key] = digest
    return digest


def walk_files(root: Path) -> Iterator[Path]:
    """Regular files under ``root`` (or ``root`` itself), in a stable order; no symlink loops."""
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                yield p


def digest_inputs(base: Path, inputs: Iterable[str]) -> dict[str, str]:
    """``{path relative to the work dir: sha256}`` for every file of the declared inputs."""
    out: dict[str, str] = {}
    for item in inputs:
        src = base / item
        name = Path(item).name
        for f in walk_files(src):
            rel = name if f == src else f"{name}/{f.relative_to(src).as_posix()}"
            out[rel] = file_sha256(f)
    return out
