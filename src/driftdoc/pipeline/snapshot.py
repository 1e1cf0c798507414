"""Per-run snapshots of the declared inputs: private copies, cheap where the filesystem allows.

Each file is cloned with the ``FICLONE`` ioctl (a copy-on-write reflink on btrfs/xfs) and
falls back to a plain copy. Hardlinks are never used: the run's work dir is writable, so a
hardlink would let a pipeline modify the original in place.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

_FICLONE = 0x40049409
_reflink_ok = True


def clone_file(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Copy one file (reflink when possible), preserving mode and times."""
    global _reflink_ok
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        done = False
        if _reflink_ok:
            try:
                fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
                done = True
            except OSError:
                _reflink_ok = False  # this filesystem cannot; stop trying
        if not done:
            shutil.copyfileobj(fin, fout, 1 << 20)
    shutil.copystat(src, dst)


def snapshot(base: Path, inputs: Iterable[str], workdir: Path) -> None:
    """Copy every declared input (file or directory) into ``workdir`` under its own name."""
    for item in inputs:
        src = base / item
        dst = workdir / Path(item).name
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True, copy_function=clone_file,
                            dirs_exist_ok=True)
        else:
            clone_file(src, dst)


def remove_tree(path: Path) -> None:
    """Delete a run's work dir even if the pipeline made things read-only."""

    def fix(func: object, p: str, exc: object) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
        with contextlib.suppress(OSError):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p, ignore_errors=True)
            else:
                os.unlink(p)

    shutil.rmtree(path, onerror=fix)
