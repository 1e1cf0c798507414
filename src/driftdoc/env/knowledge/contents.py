"""Which modules a release ships, read from its files on the index without installing it.

The repair search uses this as an oracle for a submodule that vanished from a package
(``httpie.pygson``, ``sklearn.cross_validation``): instead of bisecting builds, it reads the
file lists of older releases and jumps straight to the newest one that still has the module.
Bisection cannot find a module that lived in a single patch release (``httpie/pygson.py``
only in httpie 0.2.0): it probes one release per minor.

A wheel's list comes from two HTTP range requests on its zip central directory; an sdist
(often the only file of a release from before 2014) is downloaded whole when it is small.
Lists are cached on disk by file URL: a release's files never change.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import struct
import tarfile
import urllib.error
import zipfile
from collections.abc import Iterable

from driftdoc.env.host import cache
from driftdoc.env.knowledge.distfiles import DistFile, Release
from driftdoc.env.knowledge.index import read_url

SDIST_LIMIT = 6_000_000
"""Largest sdist worth downloading just for its file list (bytes)."""

CD_LIMIT = 8_000_000
"""Largest zip central directory worth reading (bytes): a listing, not a download."""

TAIL = 65_536
"""How much of a wheel's end to read first: the central directory is usually all in it."""

_DATA_DIR = re.compile(r"^[^/]+\.data/(?:purelib|platlib)/")

_MODULE_ENDS = (".py", ".so", ".pyd")

_SDIST_ENDS = (".tar.gz", ".tgz", ".tar.bz2", ".tar", ".zip")


def _zip_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


def wheel_members(url: str, size: int | None, timeout: float = 20.0) -> list[str]:
    """File names in a remote zip, reading only its central directory when ranges work."""
    tail, partial = read_url(url, first=-min(size or TAIL, TAIL), timeout=timeout)
    if not partial:
        return _zip_names(tail)
    eocd = tail.rfind(b"PK\x05\x06")
    if eocd < 0:
        raise ValueError("no zip end-of-central-directory record")
    cd_size, cd_offset = struct.unpack("<II", tail[eocd + 12: eocd + 20])
    if cd_size > CD_LIMIT:
        raise ValueError("zip central directory too large")
    total = size if size is not None else cd_offset + cd_size + (len(tail) - eocd)
    start = cd_offset - (total - len(tail))
    if start >= 0:
        cd = tail[start: start + cd_size]
    else:
        cd, _ = read_url(url, first=cd_offset, last=cd_offset + cd_size - 1, timeout=timeout)
    names: list[str] = []
    pos = 0
    while pos + 46 <= len(cd) and cd[pos: pos + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", cd[pos + 28: pos + 34])
        names.append(cd[pos + 46: pos + 46 + n].decode("utf-8", "replace"))
        pos += 46 + n + m + k
    return names


def sdist_members(url: str, timeout: float = 30.0) -> list[str]:
    """File names in an sdist (tar or zip), its top ``name-version/`` folder stripped."""
    data, _ = read_url(url, timeout=timeout)
    if url.split("#")[0].endswith(".zip"):
        names = _zip_names(data)
    else:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
            names = tf.getnames()
    return [n.split("/", 1)[1] if "/" in n else n for n in names]


def _pick(files: Iterable[DistFile]) -> DistFile | None:
    """The cheapest file to list: a wheel (pure first), else a small sdist."""
    usable = [f for f in files if not f.yanked]
    wheels = [f for f in usable if f.is_wheel]
    if wheels:
        return max(wheels, key=lambda f: (f.filename.endswith("-none-any.whl"),
                                          "x86_64" in f.filename, -(f.size or 0)))
    sdists = [f for f in usable if f.filename.endswith(_SDIST_ENDS)
              and (f.size is None or f.size <= SDIST_LIMIT)]
    return min(sdists, key=lambda f: f.size or 0) if sdists else None


def release_members(release: Release, timeout: float = 20.0) -> list[str] | None:
    """The files one release ships (None: no listable file, or the index did not answer)."""
    chosen = _pick(release.files)
    if chosen is None:
        return None
    path = cache.cache_root() / "members" / \
        f"{hashlib.sha256(chosen.url.encode()).hexdigest()[:24]}.json.gz"
    try:
        cached: list[str] = json.loads(gzip.decompress(path.read_bytes()))
        return cached
    except (OSError, ValueError, EOFError):
        pass
    try:
        names = wheel_members(chosen.url, chosen.size, timeout) if chosen.is_wheel \
            else sdist_members(chosen.url, timeout)
    except (OSError, ValueError, EOFError, tarfile.TarError, zipfile.BadZipFile,
            urllib.error.URLError, struct.error):
        return None
    names = [n for n in names if n.endswith(_MODULE_ENDS)]  # all ships_module looks at
    with contextlib.suppress(OSError):  # a full disk costs only the next lookup
        # compressed: a tensorflow wheel lists 8,000 files
        cache.write_bytes_atomic(path, gzip.compress(json.dumps(names).encode()))
    return names


def ships_module(members: Iterable[str], module: str) -> bool:
    """Whether a file list has ``module`` ("pkg.sub") as a source file, a package or an
    extension, at the top or under ``src/`` or ``lib/`` (sdists)."""
    rel = module.replace(".", "/")
    wanted = (f"{rel}.py", f"{rel}/__init__.py")
    for name in members:
        name = _DATA_DIR.sub("", name)  # tensorflow-1.14.0.data/purelib/tensorflow/...
        for root in ("", "src/", "lib/"):
            if not name.startswith(root):
                continue
            tail = name[len(root):]
            if tail in wanted:
                return True
            if tail.startswith(rel + ".") and tail.endswith((".so", ".pyd")) \
                    and "/" not in tail[len(rel):]:
                return True
    return False
