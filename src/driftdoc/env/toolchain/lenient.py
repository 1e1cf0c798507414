"""Old releases whose metadata today's resolvers refuse, read leniently and shown to uv.

pandas 0.18.1-0.24.2 declare ``Requires-Dist: pytz (>=2011k)``; ``2011k`` is no PEP 440
version, so uv calls the release's metadata invalid and silently skips it, falling back
to whatever older release parses (pandas 0.11.0, which no longer builds). pip before 24.1
read such specifiers as legacy versions and installed these releases in their day.

:func:`read_leniently` repairs a METADATA text the way that era's pip read it: a version
with a suffix (``2011k``) is cut to its numeric release (``2011``); what still does not
parse is dropped. Each change is a note. :class:`LenientIndex` serves those corrected
texts as PEP 658 metadata from a loopback PEP 691 index that the uv toolchain puts ahead
of the real one (``--extra-index-url``) for the projects uv complained about only; the
wheels themselves are the index's own (a redirect). Which releases were read this way is
returned to the caller, which records it in the resolution.

On HG2.9K (``benchmarks/invalid_metadata.py``) 82 releases of the gists' era are refused
(pandas 0.14.0-0.24.2, celery 3.1.3-4.4.0, apache-airflow 1.10.7, boto3 1.2.0) and 71 of the
2,591 gists import one of those distributions. A wheel whose index serves no PEP 658
metadata is not helped (uv then reads the wheel's own METADATA).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from http.server import BaseHTTPRequestHandler
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from driftdoc.env.knowledge.distfiles import DistFile
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.toolchain.loopback import LoopbackServer, send_body

JSON_TYPE = "application/vnd.pypi.simple.v1+json"

# a comparison and its version inside a requirement's specifier
_CLAUSE = re.compile(r"(===|==|!=|~=|<=|>=|<|>)\s*([^\s,;()\[\]]+)")
_NUMERIC = re.compile(r"^\d+(?:\.\d+)*")
_UNPARSABLE = (InvalidRequirement, InvalidSpecifier)


@dataclass
class Reading:
    """A METADATA text as uv will accept it, and what had to change (empty: nothing)."""

    text: str
    changes: list[str] = field(default_factory=list)


def _valid_version(text: str) -> bool:
    try:
        Version(text.rstrip(".*") if text.endswith(".*") else text)
    except InvalidVersion:
        return False
    return True


def _cut_versions(value: str) -> str:
    """Every invalid version in ``value``'s comparisons cut to its numeric release
    (``>=2011k`` → ``>=2011``); a comparison without one is removed."""
    def fix(m: re.Match[str]) -> str:
        op, ver = m.group(1), m.group(2)
        if _valid_version(ver):
            return m.group(0)
        numeric = _NUMERIC.match(ver)
        return f"{op}{numeric.group(0)}" if numeric else ""
    fixed = _CLAUSE.sub(fix, value)
    fixed = re.sub(r",\s*(?=,|\)|;|$)", "", fixed)  # a removed comparison's comma
    fixed = re.sub(r"\(\s*,?\s*", "(", fixed)
    return re.sub(r"\(\s*\)", "", fixed)


def _repaired(value: str, parse: Callable[[str], object]) -> tuple[str | None, bool]:
    """(``value`` as uv will read it, or None to drop it; whether it changed). ``parse``
    (packaging's ``Requirement`` or ``SpecifierSet``) raises on what uv refuses."""
    try:
        parse(value)
        return value, False
    except _UNPARSABLE:
        pass
    try:
        return str(parse(_cut_versions(value))), True
    except _UNPARSABLE:
        return None, True


def read_leniently(text: str) -> Reading:
    """``text`` (a METADATA file) with each invalid ``Requires-Dist`` or ``Requires-Python``
    repaired or dropped, one note per change; the body after the headers is kept."""
    head, sep, body = text.partition("\n\n")
    out: list[str] = []
    changes: list[str] = []
    for line in head.split("\n"):
        key, colon, raw = line.partition(":")
        field_name = key.strip().lower()
        if not colon or field_name not in ("requires-dist", "requires-python"):
            out.append(line)
            continue
        value = raw.strip()
        parse = Requirement if field_name == "requires-dist" else SpecifierSet
        fixed, changed = _repaired(value, parse)
        if not changed:
            out.append(line)
        elif fixed is None:
            changes.append(f"{key.strip()} {value!r} dropped (unparsable)")
        else:
            out.append(f"{key.strip()}: {fixed}")
            changes.append(f"{key.strip()} {value!r} read as {fixed!r}")
    return Reading("\n".join(out) + sep + body, changes)


@dataclass(frozen=True)
class LenientRelease:
    """One release whose metadata was read leniently, and how."""

    name: str
    version: str
    changes: tuple[str, ...]

    def note(self) -> str:
        return (f"{self.name} {self.version}: metadata invalid for today's resolvers, read "
                f"leniently ({'; '.join(self.changes)})")


class LenientIndex:
    """A loopback PEP 691 index of ``projects`` only (others: 404, so uv goes on to the
    real index) whose wheels' PEP 658 metadata is served through :func:`read_leniently`."""

    def __init__(self, upstream: ReleaseProvider, projects: set[str]) -> None:
        self.upstream = upstream
        self.projects = {canonicalize_name(p) for p in projects}
        self.repaired: dict[tuple[str, str], LenientRelease] = {}
        self._lock = threading.Lock()
        self.loopback = LoopbackServer(self.handle)

    @property
    def base(self) -> str:
        return self.loopback.base

    @property
    def url(self) -> str:
        return f"{self.base}/simple"

    def add(self, projects: set[str]) -> None:
        with self._lock:
            self.projects |= {canonicalize_name(p) for p in projects}

    def close(self) -> None:
        self.loopback.close()

    def __enter__(self) -> LenientIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ requests
    def handle(self, req: BaseHTTPRequestHandler, head: bool = False) -> None:
        parts = [urllib.parse.unquote(p) for p in
                 urllib.parse.urlsplit(req.path).path.strip("/").split("/")]
        with self._lock:
            known = set(self.projects)
        if len(parts) == 2 and parts[0] == "simple" and canonicalize_name(parts[1]) in known:
            self._page(req, canonicalize_name(parts[1]), head)
        elif len(parts) == 3 and parts[0] == "files" and parts[1] in known:
            self._file(req, parts[1], parts[2], head)
        else:
            req.send_error(404)

    def _page(self, req: BaseHTTPRequestHandler, project: str, head: bool) -> None:
        rows = []
        for f in self.upstream.files(project):
            row: dict[str, Any] = {"filename": f.filename, "url": f.url,
                                   "hashes": {"sha256": f.sha256} if f.sha256 else {},
                                   "yanked": f.yanked, "core-metadata": False}
            if f.is_wheel:
                row["url"] = f"{self.base}/files/{project}/{urllib.parse.quote(f.filename)}"
                row["core-metadata"] = True
            if f.requires_python:
                row["requires-python"] = f.requires_python
            if f.size is not None:
                row["size"] = f.size
            if f.upload_time is not None:
                row["upload-time"] = (f.upload_time.astimezone(UTC)
                                      .strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            rows.append(row)
        if not rows:
            req.send_error(404)
            return
        doc = {"meta": {"api-version": "1.1"}, "name": project, "files": rows}
        send_body(req, json.dumps(doc).encode(), JSON_TYPE, head)

    def _file(self, req: BaseHTTPRequestHandler, project: str, name: str, head: bool) -> None:
        want_metadata = name.endswith(".metadata")
        filename = name.removesuffix(".metadata")
        found = next((f for f in self.upstream.files(project) if f.filename == filename), None)
        if found is None:
            req.send_error(404)
            return
        if not want_metadata:
            req.send_response(302)  # the bytes are the index's own
            req.send_header("Location", found.url)
            req.send_header("Content-Length", "0")
            req.end_headers()
            return
        raw = self.upstream.metadata(found)
        if raw is None:
            req.send_error(404)  # uv reads the wheel itself then
            return
        reading = read_leniently(raw.decode("utf-8", "replace"))
        if reading.changes and found.version is not None:
            with self._lock:
                self.repaired[(project, found.version)] = LenientRelease(
                    project, found.version, tuple(reading.changes))
        send_body(req, reading.text.encode("utf-8"), "application/octet-stream", head)

    def notes_for(self, pins: list[str]) -> list[LenientRelease]:
        """The leniently read releases among ``pins`` (``name==version`` lines)."""
        chosen = set()
        for pin in pins:
            name, _, version = pin.partition("==")
            chosen.add((canonicalize_name(name), version.strip()))
        with self._lock:
            return [r for key, r in sorted(self.repaired.items()) if key in chosen]


# uv's words for a release whose metadata it refuses (a warning with RUST_LOG=warn, or the
# resolver's reason when the release was asked for exactly)
_INVALID = (
    re.compile(r"`([A-Za-z0-9][A-Za-z0-9._-]*)==([^`\s]+)` has invalid metadata"),
    re.compile(r"Because ([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?) has invalid metadata"),
    re.compile(r"Metadata for `([A-Za-z0-9][A-Za-z0-9._-]*)` \(v([^)\s]+)\) could not be parsed"),
)


def refused_releases(stderr: str) -> set[tuple[str, str]]:
    """(project, version) of each release uv's output says it refused for its metadata."""
    found: set[tuple[str, str]] = set()
    for pattern in _INVALID:
        for m in pattern.finditer(stderr):
            found.add((canonicalize_name(m.group(1)), m.group(2)))
    return found


def check_metadata(file: DistFile, upstream: ReleaseProvider) -> Reading | None:
    """The lenient reading of one wheel's metadata (None: the index serves none)."""
    raw = upstream.metadata(file)
    return None if raw is None else read_leniently(raw.decode("utf-8", "replace"))
