"""A small PyPI "simple" index client (PEP 691 JSON) with an expiring on-disk cache.

Per project it returns releases with their earliest upload time, ``requires-python`` and yanked
status, plus the helpers the environment search needs: filter by target Python, by date ("as
of") and yanked status, and group by major/minor. ``file://`` roots are read as
``<root>/<normalized-name>/index.json`` so tests can use local JSON. Only the stdlib is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from driftdoc.env.host.cache import cache_root as _cache_root
from driftdoc.errors import DriftdocError, InputError

DEFAULT_INDEX = "https://pypi.org/simple/"
ACCEPT = "application/vnd.pypi.simple.v1+json"
DEFAULT_TTL = 24 * 3600.0


class IndexError_(DriftdocError):
    """The index could not answer (network down, offline without cache, bad response)."""


class ProjectNotFound(InputError):
    """The index has no project of that name."""


@dataclass(frozen=True)
class DistFile:
    """One file of a release."""

    filename: str
    url: str
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool
    size: int | None = None
    sha256: str | None = None

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")


@dataclass
class Release:
    """A version of a project: earliest upload time, requires-python, yanked if all files are."""

    version: str
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool
    files: list[DistFile] = field(default_factory=list)

    @property
    def parsed(self) -> Version:
        return Version(self.version)

    @property
    def has_wheel(self) -> bool:
        return any(f.is_wheel for f in self.files)

    def supports_python(self, python: str) -> bool:
        return python_matches(self.requires_python, python)


def python_matches(requires_python: str | None, python: str) -> bool:
    """Does a ``requires-python`` string admit Python ``python`` ("X.Y" or "X.Y.Z")?

    "X.Y" is taken as the newest patch release of that line.
    """
    if not requires_python or not requires_python.strip():
        return True
    try:
        spec = SpecifierSet(requires_python.strip().rstrip(","))
    except InvalidSpecifier:
        return True
    full = python if python.count(".") >= 2 else f"{python}.99"
    return spec.contains(full, prereleases=True)


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _version_from_filename(filename: str, project: str) -> str | None:
    """PEP 691 lists files, not versions: recover the version from the file name."""
    name = filename
    for ext in (".whl", ".tar.gz", ".tar.bz2", ".tar.xz", ".zip", ".tgz", ".egg", ".exe",
                ".msi", ".rpm", ".tar"):
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    else:
        return None
    if filename.endswith((".whl", ".egg")):
        parts = name.split("-")
        return parts[1] if len(parts) > 1 else None
    # sdist: "<name>-<version>", where the name may contain '-' (normalise both)
    norm = canonicalize_name(project)
    pieces = name.split("-")
    for i in range(1, len(pieces)):
        if canonicalize_name("-".join(pieces[:i])) == norm:
            return "-".join(pieces[i:])
    if name.endswith(".win32") or name.endswith("win-amd64"):
        return None
    return pieces[-1] if len(pieces) > 1 else None


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
        url = index_url or os.environ.get("DRIFTDOC_INDEX_URL") or DEFAULT_INDEX
        self.index_url = url if url.endswith("/") else url + "/"
        self.cache_dir = Path(cache_dir) if cache_dir else _cache_root() / "index"
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
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(payload), encoding="utf-8")
            tmp.replace(path)
        except OSError:
            pass

    # ------------------------------------------------------------------ releases
    def releases(self, name: str) -> list[Release]:
        """Every release of ``name`` with a valid version, oldest version first."""
        page = self.project(name)
        project = str(page.get("name") or name)
        by_version: dict[str, list[DistFile]] = {}
        for f in page.get("files", []):
            filename = str(f.get("filename", ""))
            version = _version_from_filename(filename, project)
            if version is None:
                continue
            yanked = f.get("yanked", False)
            digest = (f.get("hashes") or {}).get("sha256")
            by_version.setdefault(version, []).append(DistFile(
                filename=filename,
                url=urllib.parse.urljoin(self.index_url + canonicalize_name(name) + "/",
                                         str(f.get("url", ""))),
                upload_time=_parse_time(f.get("upload-time")),
                requires_python=f.get("requires-python") or None,
                yanked=bool(yanked),
                size=f.get("size"),
                sha256=digest,
            ))
        for v in page.get("versions", []):  # PEP 700: versions without files still exist
            by_version.setdefault(str(v), [])
        out: list[Release] = []
        merged: dict[Version, Release] = {}
        for version, files in by_version.items():
            try:
                parsed = Version(version)
            except InvalidVersion:
                continue
            times = [f.upload_time for f in files if f.upload_time is not None]
            rps = [f.requires_python for f in files if f.requires_python]
            rel = Release(
                version=version,
                upload_time=min(times) if times else None,
                requires_python=max(set(rps), key=rps.count) if rps else None,
                yanked=bool(files) and all(f.yanked for f in files),
                files=files,
            )
            if parsed in merged:  # "1.0" and "1.0.0" spelled differently in file names
                merged[parsed].files.extend(files)
                continue
            merged[parsed] = rel
        out = [merged[k] for k in sorted(merged)]
        return out

    def versions(self, name: str, **filters: Any) -> list[str]:
        return [r.version for r in filter_releases(self.releases(name), **filters)]


# ---------------------------------------------------------------------- helpers for the search


def filter_releases(
    releases: Iterable[Release],
    *,
    python: str | None = None,
    as_of: datetime | None = None,
    include_yanked: bool = False,
    include_prereleases: bool = False,
    require_files: bool = True,
) -> list[Release]:
    """Releases usable for a target Python, published by ``as_of``, not yanked, not pre."""
    if as_of is not None and as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)
    out = []
    for r in releases:
        if require_files and not r.files:
            continue
        if r.yanked and not include_yanked:
            continue
        if not include_prereleases and r.parsed.is_prerelease:
            continue
        if as_of is not None and (r.upload_time is None or r.upload_time > as_of):
            continue
        if python is not None and not r.supports_python(python):
            continue
        out.append(r)
    return out


def group_by_minor(releases: Iterable[Release]) -> dict[str, list[Release]]:
    """"MAJOR.MINOR" -> releases of that line, oldest first (insertion order follows input)."""
    groups: dict[str, list[Release]] = {}
    for r in releases:
        rel = r.parsed.release
        key = f"{rel[0]}.{rel[1] if len(rel) > 1 else 0}"
        groups.setdefault(key, []).append(r)
    return groups


def group_by_major(releases: Iterable[Release]) -> dict[int, list[Release]]:
    groups: dict[int, list[Release]] = {}
    for r in releases:
        groups.setdefault(r.parsed.release[0], []).append(r)
    return groups


def latest(releases: Iterable[Release]) -> Release | None:
    """The highest version among ``releases`` (None if empty)."""
    best: Release | None = None
    for r in releases:
        if best is None or r.parsed > best.parsed:
            best = r
    return best
