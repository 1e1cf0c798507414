"""A loopback PEP 503 index that shows pip 20.3 (Python 2.7) the index as of a date.

pip 20.3 has no ``--exclude-newer``: the proxy builds pages from the upstream PEP 691 JSON,
hiding releases first published after the cut-off and releases the caller excluded.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler

from packaging.utils import canonicalize_name

from driftdoc.env.knowledge.distfiles import DistFile
from driftdoc.env.knowledge.releases import ReleaseProvider
from driftdoc.env.toolchain.loopback import LoopbackServer, send_body


class DateFilterProxy:
    """A loopback PEP 503 index showing only releases first published by ``cutoff`` (with
    all their files) and not excluded."""

    def __init__(self, upstream: ReleaseProvider, cutoff: datetime,
                 late: dict[str, datetime] | None = None) -> None:
        self.upstream = upstream
        self.cutoff = cutoff
        self.late = late or {}
        self.excluded: set[tuple[str, str]] = set()
        self.loopback = LoopbackServer(self.handle)

    @property
    def url(self) -> str:
        return f"{self.loopback.base}/simple"

    def close(self) -> None:
        self.loopback.close()

    def handle(self, req: BaseHTTPRequestHandler, head: bool = False) -> None:
        path = urllib.parse.urlsplit(req.path).path
        if not path.startswith("/simple/") or path.rstrip("/") == "/simple":
            req.send_error(404)
            return
        project = canonicalize_name(path[len("/simple/"):].strip("/"))
        files = self.upstream.files(project)
        if not files:
            req.send_error(404)
            return
        rows = []
        cutoff = self.late.get(project, self.cutoff)
        released = _first_uploads(files)
        for f in files:
            # a release of its time keeps the wheels built for it later (pandas 0.18.1's
            # 2.7 wheels came two months after it): without them it is a source build
            when = released.get(f.version, f.upload_time) if f.version else f.upload_time
            if when is not None and when > cutoff:
                continue
            if f.version is not None and (project, f.version) in self.excluded:
                continue
            attrs = ""
            if f.requires_python:
                attrs += ' data-requires-python="{}"'.format(
                    f.requires_python.replace("&", "&amp;").replace("<", "&lt;")
                    .replace(">", "&gt;").replace('"', "&quot;"))
            if f.yanked:
                attrs += ' data-yanked=""'
            rows.append(f'<a href="{f.url}"{attrs}>{f.filename}</a><br/>')
        body = ("<!DOCTYPE html><html><body>\n" + "\n".join(rows) + "\n</body></html>").encode()
        send_body(req, body, "text/html", head)


def _first_uploads(files: Sequence[DistFile]) -> dict[str, datetime]:
    """When each version was first published (its earliest file)."""
    first: dict[str, datetime] = {}
    for f in files:
        if f.version is not None and f.upload_time is not None:
            prev = first.get(f.version)
            if prev is None or f.upload_time < prev:
                first[f.version] = f.upload_time
    return first
