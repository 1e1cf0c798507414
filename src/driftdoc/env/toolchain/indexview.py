"""What resolution asks the index: files of a project (PEP 691 JSON, cached), newest
compatible releases, late first uploads, backtracking, wheel tags and release metadata.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from packaging.metadata import Metadata
from packaging.requirements import Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from driftdoc.env.host import cache

# The index resolution and builds use unless told otherwise (same variable as the client).
DEFAULT_INDEX = os.environ.get("DRIFTDOC_INDEX_URL", "https://pypi.org/simple").rstrip("/")

LATE_WINDOW = timedelta(days=90)
"""A project first published after the cut-off may take its releases of this first window."""

INDEX_TTL = 600.0

ANCIENT_DAYS = 365

_JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    version: str | None
    upload_time: datetime | None
    requires_python: str | None
    yanked: bool


def _version_from_filename(filename: str, project: str) -> str | None:
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return parts[1] if len(parts) >= 5 else None
    stem = re.sub(r"\.(tar\.gz|tar\.bz2|tgz|zip|tar\.xz|egg)$", "", filename)
    prefix_len = len(project)
    if canonicalize_name(stem[:prefix_len]) == canonicalize_name(project) and \
            stem[prefix_len:prefix_len + 1] == "-":
        return stem[prefix_len + 1:]
    return stem.rsplit("-", 1)[1] if "-" in stem else None


def index_files(index_url: str, project: str, *, ttl: float = INDEX_TTL) -> list[IndexFile]:
    """The files the index lists for ``project`` (PEP 691 JSON), cached on disk for ``ttl``."""
    name = canonicalize_name(project)
    url = f"{index_url.rstrip('/')}/{name}/"
    key = hashlib.sha256(url.encode()).hexdigest()[:24]
    path = cache.cache_root() / "resolve" / "index" / f"{key}.json"
    doc: dict[str, Any] | None = None
    try:
        if time.time() - path.stat().st_mtime < ttl:
            doc = json.loads(path.read_text())
    except (OSError, ValueError):
        doc = None
    if doc is None:
        req = urllib.request.Request(url, headers={"Accept": _JSON_ACCEPT})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                body = resp.read()
                ctype = resp.headers.get("Content-Type", "")
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return []
            raise
        if "json" not in ctype:
            return []  # an index without PEP 691: no upload times to reason with
        doc = json.loads(body)
        cache.write_json_atomic(path, doc)
    files = []
    for f in doc.get("files", []):
        uploaded = f.get("upload-time")
        when = None
        if uploaded:
            try:
                when = datetime.fromisoformat(uploaded.replace("Z", "+00:00"))
            except ValueError:
                when = None
        files.append(IndexFile(
            filename=f["filename"], url=urllib.parse.urljoin(url, f["url"]),
            version=_version_from_filename(f["filename"], name), upload_time=when,
            requires_python=f.get("requires-python"), yanked=bool(f.get("yanked")),
        ))
    return files


def _python_ok(spec: str | None, python: str) -> bool:
    if not spec:
        return True
    try:
        return SpecifierSet(spec).contains(python + ".99", prereleases=True) or \
            SpecifierSet(spec).contains(python + ".0", prereleases=True)
    except InvalidSpecifier:
        return True


def newest_compatible(index_url: str, req: Requirement, python: str,
                      as_of: datetime | None) -> tuple[Version, datetime | None] | None:
    """The newest non-yanked, non-pre-release version matching ``req`` for ``python`` and
    uploaded by ``as_of``, with its first upload time."""
    best: dict[Version, datetime | None] = {}
    for f in index_files(index_url, req.name):
        if f.yanked or f.version is None or not _python_ok(f.requires_python, python):
            continue
        if as_of is not None and f.upload_time is not None and f.upload_time > as_of:
            continue
        try:
            v = Version(f.version)
        except InvalidVersion:
            continue
        if v.is_prerelease or (req.specifier and not req.specifier.contains(v)):
            continue
        if f.filename.endswith(".whl") and python.startswith("3") and "-py2-" in f.filename:
            continue
        prev = best.get(v)
        if prev is None or (f.upload_time is not None and f.upload_time < prev):
            best[v] = f.upload_time
    if not best:
        return None
    top = max(best)
    return top, best[top]


def _admits(req: Requirement, version: str | None) -> bool:
    """Whether ``version`` satisfies ``req`` (a pin gets the cut-off of its own release)."""
    if version is None or not req.specifier:
        return True
    try:
        return req.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def late_cutoffs(index_url: str, reqs: Sequence[Requirement], python: str,
                 cutoff: datetime | None) -> dict[str, datetime]:
    """Per-project cut-offs for requirements with no release by ``cutoff``: the end of
    their first upload window.

    Old code often names a project that reached PyPI only years later (vendors upload their
    back catalogue at once); a date filter would hide every release of it.
    """
    if cutoff is None:
        return {}
    late: dict[str, datetime] = {}
    for req in reqs:
        try:
            if newest_compatible(index_url, req, python, cutoff) is not None:
                continue
            times = [f.upload_time for f in index_files(index_url, req.name)
                     if f.upload_time is not None and not f.yanked
                     and _python_ok(f.requires_python, python) and _admits(req, f.version)]
        except (OSError, ValueError):
            continue
        if times:
            late[canonicalize_name(req.name)] = min(times) + LATE_WINDOW
    return late


def _upload_time(index_url: str, name: str, version: str) -> datetime | None:
    times = [f.upload_time for f in index_files(index_url, name)
             if f.version is not None and f.upload_time is not None
             and _same_version(f.version, version)]
    return min(times) if times else None


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def check_backtracking(index_url: str, reqs: Sequence[Requirement], pins: Sequence[str],
                       python: str, as_of: datetime | None) -> tuple[list[str], list[str]]:
    """(warnings, names) for direct requirements resolved far below the newest candidate."""
    pinned = {canonicalize_name(p.split("==", 1)[0]): p.split("==", 1)[1] for p in pins}
    warnings: list[str] = []
    names: list[str] = []
    for req in reqs:
        name = canonicalize_name(req.name)
        got = pinned.get(name)
        if got is None:
            continue
        try:
            newest = newest_compatible(index_url, req, python, as_of)
            if newest is None:
                continue
            top, top_time = newest
            resolved = Version(got)
            if resolved >= top:
                continue
            got_time = _upload_time(index_url, name, got)
        except (OSError, ValueError, InvalidVersion):
            continue
        age = (top_time - got_time).days if top_time and got_time else None
        if resolved.major != top.major or (age is not None and age > ANCIENT_DAYS):
            when = f" (uploaded {age} days earlier)" if age is not None else ""
            problem, requires_python = release_metadata(index_url, name, str(top))
            if problem is None and not _python_ok(requires_python, python):
                continue  # the index hides it, but the release itself excludes this Python
            why = (f"uv skipped {name}=={top}: {problem}" if problem
                   else "another requirement or invalid metadata pushed it back")
            warnings.append(f"backtracked: {name} resolved to {got}{when} although {top} is "
                            f"the newest compatible release; {why}")
            names.append(name)
    return warnings, names


def wheel_fits(filename: str, python: str, machine: str | None = None) -> bool:
    """Does the wheel ``filename`` install on CPython ``python`` ("X.Y") on Linux here?"""
    try:
        tags = parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return False
    arch = machine or platform.machine()
    major, minor = (int(x) for x in python.split(".")[:2])
    exact = {f"py{major}", f"py{major}{minor}", f"cp{major}{minor}"}
    stable = {f"cp{major}{m}" for m in range(minor + 1)}  # abi3 wheels of older minors
    for tag in tags:
        if tag.platform != "any" and not (tag.platform.startswith(("linux", "manylinux"))
                                          and tag.platform.endswith(arch)):
            continue
        if tag.interpreter in exact or (tag.abi == "abi3" and tag.interpreter in stable):
            return True
    return False


def platform_wheel(filename: str) -> bool:
    """Is ``filename`` a compiled wheel for Linux? (A project with only Windows or macOS
    wheels builds from source here whichever release is picked.)"""
    try:
        return any(t.platform.startswith(("linux", "manylinux"))
                   for t in parse_wheel_filename(filename)[3])
    except InvalidWheelFilename:
        return False


def source_builds(index_url: str, pins: Sequence[str], python: str,
                  exact: Sequence[str] = ()) -> list[str]:
    """Pinned projects that would be compiled from source: the pinned release has no wheel
    for ``python`` although the project ships compiled wheels (``exact``: names the
    requirements pin themselves, left alone).

    A resolver takes the newest release a Python's ``requires-python`` admits, often one
    published after the last wheels for that Python (opencv-python 5 on 3.6): building it
    takes many minutes or fails, while an older release installs from a wheel in seconds.
    """
    fixed = {canonicalize_name(n) for n in exact}
    todo = [pin.partition("==")[::2] for pin in pins]
    todo = [(name, version) for name, version in todo
            if version and canonicalize_name(name) not in fixed]
    with ThreadPoolExecutor(max_workers=8) as pool:  # one index page per project
        built = pool.map(lambda nv: _builds_from_source(index_url, nv[0], nv[1], python), todo)
        return [canonicalize_name(name) for (name, _), b in zip(todo, built, strict=True) if b]


def _builds_from_source(index_url: str, name: str, version: str, python: str) -> bool:
    try:
        files = index_files(index_url, name)
    except (OSError, ValueError):
        return False
    wheels = [f.filename for f in files if f.filename.endswith(".whl")]
    if not any(platform_wheel(w) for w in wheels):
        return False  # a pure or source-only project builds quickly (or not at all)
    mine = [f.filename for f in files if f.version is not None
            and _same_version(f.version, version) and f.filename.endswith(".whl")]
    return not any(wheel_fits(w, python) for w in mine)


def metadata_problem(index_url: str, name: str, version: str) -> str | None:
    """Why the metadata of ``name==version`` is invalid (resolvers skip such releases
    silently), or ``None`` if it looks valid or cannot be checked."""
    return release_metadata(index_url, name, version)[0]


def release_metadata(index_url: str, name: str,
                     version: str) -> tuple[str | None, str | None]:
    """(problem with the metadata or ``None``, Requires-Python from the wheel's METADATA)."""
    files = [f for f in index_files(index_url, name)
             if f.version is not None and _same_version(f.version, version)]
    for f in files:
        if f.requires_python:
            try:
                SpecifierSet(f.requires_python)
            except InvalidSpecifier:
                return f"invalid Requires-Python {f.requires_python!r} in the index", None
    wheel = next((f for f in files if f.filename.endswith(".whl")), None)
    if wheel is None:
        return None, None
    try:
        with urllib.request.urlopen(wheel.url + ".metadata", timeout=30) as resp:
            raw = resp.read()
    except (OSError, ValueError):
        return None, None
    try:
        meta = Metadata.from_email(raw, validate=True)
    except Exception as exc:  # InvalidMetadata or an ExceptionGroup of them
        subs = getattr(exc, "exceptions", None) or [exc]
        return "invalid metadata: " + "; ".join(str(e) for e in subs)[:300], None
    spec = meta.requires_python
    return None, str(spec) if spec is not None else None
