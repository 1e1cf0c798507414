"""The one module that speaks to the package index: PEP 691 JSON pages and file bytes.

Project pages are cached on disk under the cache root (TTL, ETag revalidation, the stale
page when the network fails, an offline mode); ``file://`` roots are read as
``<root>/<normalized-name>/index.json`` so tests can use local JSON. File bytes (a wheel's
central directory by range requests, a small sdist, PEP 658 metadata) come through
:func:`read_url`. Everything else asks the release provider (``releases``), not this.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from driftdoc.env.host.cache import cache_root, write_bytes_atomic
from driftdoc.env.knowledge.distfiles import (
    DistFile,
    Release,
    group_releases,
    version_from_filename,
)
from driftdoc.errors import DriftdocError, InputError

PYPI = "https://pypi.org/simple"
ACCEPT = "application/vnd.pypi.simple.v1+json"
DEFAULT_TTL = 24 * 3600.0


def default_index() -> str:
    """``$DRIFTDOC_INDEX_URL`` or PyPI, without a trailing slash (read on every call)."""
    return (os.environ.get("DRIFTDOC_INDEX_URL") or PYPI).rstrip("/")


class IndexError_(DriftdocError):
    """The index could not answer (network down, offline without cache, bad response)."""


class ProjectNotFound(InputError):
    """The index has no project of that name."""


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def read_url(url: str, *, first: int | None = None, last: int | None = None,
             timeout: float = 30.0) -> tuple[bytes, bool]:
    """(body, partial): bytes ``first``..``last`` of a file on the index if the server
    honours ``Range`` (a negative ``first`` is a suffix), else the whole file (``partial``
    False: ``file://`` and some mirrors ignore ranges). Raises ``OSError`` on failure."""
    headers = {"User-Agent": "driftdoc"}
    if first is not None:
        headers["Range"] = f"bytes={first}-{'' if last is None else last}" if first >= 0 \
            else f"bytes={first}"
    req = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body: bytes = resp.read()
        return body, getattr(resp, "status", None) == 206


class IndexClient:
    """Read project pages from a simple index (PEP 691 JSON), cached under ``cache_dir``."""

    def __init__(
        self,
        index_url: str | None = None,
        cache_dir: Path | str | None = None,
        offline: bool = False,
        ttl: float = DEFAULT_TTL,
        timeout: float = 30.0,
    ) -> None:
        self.index_url = (index_url or default_index()).rstrip("/") + "/"
        self.cache_dir = Path(cache_dir) if cache_dir else cache_root() / "index"
        self.offline = offline
        self.ttl = ttl
        self.timeout = timeout
        self._memo: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ raw pages
    def _cache_path(self, name: str) -> Path:
        host = hashlib.sha256(self.index_url.encode()).hexdigest()[:12]
        return self.cache_dir / host / f"{name}.json"

    def project(self, name: str) -> dict[str, Any]:
        """The PEP 691 project page of ``name`` as a dict (``files``, ``versions``...)."""
        norm = canonicalize_name(name)
        if norm in self._memo:
            return self._memo[norm]
        if self.index_url.startswith("file://"):
            data = self._read_file_index(norm)
        else:
            data = self._read_http(norm)
        self._memo[norm] = data
        return data

    def _read_file_index(self, norm: str) -> dict[str, Any]:
        root = Path(urllib.request.url2pathname(urllib.parse.urlparse(self.index_url).path))
        path = root / norm / "index.json"
        if not path.exists():
            raise ProjectNotFound(f"project {norm!r} not found in {self.index_url}")
        try:
            data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise IndexError_(f"{path}: not valid JSON ({exc})") from exc
        return data

    def _read_http(self, norm: str) -> dict[str, Any]:
        cpath = self._cache_path(norm)
        cached: dict[str, Any] | None = None
        try:
            cached = json.loads(cpath.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cached = None
        if cached is not None:
            fresh = time.time() - float(cached.get("fetched", 0)) < self.ttl
            if fresh or self.offline:
                if cached.get("missing"):
                    raise ProjectNotFound(f"project {norm!r} not found on {self.index_url}")
                page: dict[str, Any] = cached["data"]
                return page
        if self.offline:
            raise IndexError_(
                f"offline: no cached index entry for {norm!r} (run once online to fill the cache"
                f" in {self.cache_dir})"
            )
        headers = {"Accept": ACCEPT, "User-Agent": "driftdoc"}
        if cached is not None and cached.get("etag"):
            headers["If-None-Match"] = cached["etag"]
        req = urllib.request.Request(self.index_url + norm + "/", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                body = resp.read()
                etag = resp.headers.get("ETag")
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 304 and cached is not None:
                cached["fetched"] = time.time()
                self._write_cache(cpath, cached)
                stale: dict[str, Any] = cached["data"]
                return stale
            if exc.code == 404:
                self._write_cache(cpath, {"fetched": time.time(), "missing": True})
                raise ProjectNotFound(f"project {norm!r} not found on {self.index_url}") from exc
            if cached is not None and "data" in cached:
                old: dict[str, Any] = cached["data"]
                return old
            raise IndexError_(f"{self.index_url}{norm}/: HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            if cached is not None and "data" in cached:
                old2: dict[str, Any] = cached["data"]
                return old2
            raise IndexError_(f"cannot reach {self.index_url} ({exc})") from exc
        if "json" not in ctype:
            raise IndexError_(f"{self.index_url} did not answer with PEP 691 JSON ({ctype})")
        data = json.loads(body)
        self._write_cache(cpath, {"fetched": time.time(), "etag": etag, "data": data})
        return data  # type: ignore[no-any-return]

    @staticmethod
    def _write_cache(path: Path, payload: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            write_bytes_atomic(path, json.dumps(payload).encode("utf-8"))

    # ------------------------------------------------------------------ files and releases
    def files(self, name: str) -> list[DistFile]:
        """Every file the index lists for ``name``, with the version its name carries."""
        page = self.project(name)
        project = str(page.get("name") or name)
        base = self.index_url + canonicalize_name(name) + "/"
        out = []
        for f in page.get("files", []):
            filename = str(f.get("filename", ""))
            out.append(DistFile(
                filename=filename,
                url=urllib.parse.urljoin(base, str(f.get("url", ""))),
                upload_time=_parse_time(f.get("upload-time")),
                requires_python=f.get("requires-python") or None,
                yanked=bool(f.get("yanked", False)),
                size=f.get("size"),
                sha256=(f.get("hashes") or {}).get("sha256"),
                version=version_from_filename(filename, project),
            ))
        return out

    def releases(self, name: str) -> list[Release]:
        """Every release of ``name`` with a valid version, oldest version first."""
        versions = [str(v) for v in self.project(name).get("versions", [])]
        return group_releases(self.files(name), versions)

    def read(self, url: str, *, first: int | None = None,
             last: int | None = None) -> tuple[bytes, bool]:
        """:func:`read_url` with this client's time-out."""
        return read_url(url, first=first, last=last, timeout=self.timeout)
