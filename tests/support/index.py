"""A loopback package index for hermetic tests: PEP 503 HTML + PEP 691 JSON with PEP 700 times.

Usage::

    with LocalIndex() as index:
        index.add(make_wheel(tmp, "drift-pkg", "1.0", files), upload_time="2019-05-01")
        subprocess.run(["uv", "pip", "compile", "--index-url", index.url, ...])

``index.url`` is the ``.../simple`` root (give it to ``--index-url``). Pages:

- ``/simple/`` project list; ``/simple/<project>/`` HTML by default, JSON when the ``Accept``
  header asks for ``application/vnd.pypi.simple.v1+json`` (or ``?format=json``).
- ``/files/<filename>`` the distribution bytes. JSON entries carry ``upload-time``,
  ``requires-python``, ``yanked`` and a sha256 hash; HTML anchors carry ``data-requires-python``
  and ``data-yanked``.

The server runs in a daemon thread on 127.0.0.1 with an ephemeral port; ``requests`` counts hits
per path (handy to assert that a cache avoided the network).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import tempfile
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(filename: str) -> str:
    # Wheels: name-version-...; sdists: name-version.tar.gz (name may contain '-' in sdists).
    if filename.endswith(".whl"):
        return _normalize(filename.split("-", 1)[0])
    stem = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", filename)
    return _normalize(stem.rsplit("-", 1)[0])


def _as_datetime(value: datetime | date | str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


@dataclass
class IndexedFile:
    """One distribution file the index serves, with its PEP 691/700 attributes."""

    path: Path
    project: str
    upload_time: datetime
    requires_python: str | None
    yanked: bool | str
    sha256: str


class LocalIndex:
    """Serve distributions on 127.0.0.1; add files with :meth:`add` at any time."""

    def __init__(self, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="driftdoc-index-")) if root is None else root
        self.root.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, IndexedFile] = {}
        self.requests: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content -------------------------------------------------------------------------
    def add(
        self,
        path: Path,
        *,
        upload_time: datetime | date | str = "2020-01-01T00:00:00",
        requires_python: str | None = None,
        yanked: bool | str = False,
    ) -> IndexedFile:
        """Publish ``path`` (copied into the index root) with the given upload time."""
        target = self.root / path.name
        if path.resolve() != target.resolve():
            shutil.copyfile(path, target)
        entry = IndexedFile(
            path=target,
            project=_project_of(path.name),
            upload_time=_as_datetime(upload_time),
            requires_python=requires_python,
            yanked=yanked,
            sha256=hashlib.sha256(target.read_bytes()).hexdigest(),
        )
        with self._lock:
            self.files[path.name] = entry
        return entry

    def projects(self) -> list[str]:
        with self._lock:
            return sorted({f.project for f in self.files.values()})

    def project_files(self, project: str) -> list[IndexedFile]:
        with self._lock:
            return sorted((f for f in self.files.values() if f.project == _normalize(project)),
                          key=lambda f: f.path.name)

    # -- server --------------------------------------------------------------------------
    @property
    def base(self) -> str:
        if self._server is None:
            raise RuntimeError("index not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The simple-API root to pass as ``--index-url``."""
        return f"{self.base}/simple"

    def start(self) -> LocalIndex:
        index = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                index._handle(self)

            def do_HEAD(self) -> None:
                index._handle(self, head=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="driftdoc-local-index")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> LocalIndex:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- request handling ----------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, head: bool = False) -> None:
        parts = urlsplit(req.path)
        path = parts.path
        with self._lock:
            self.requests[path] += 1
        want_json = JSON_TYPE in req.headers.get("Accept", "") or "format=json" in parts.query
        if path.rstrip("/") == "/simple":
            self._send_list(req, want_json)
        elif path.startswith("/simple/"):
            project = _normalize(path[len("/simple/"):].strip("/"))
            files = self.project_files(project)
            if not files:
                req.send_error(404)
                return
            self._send_project(req, project, files, want_json)
        elif path.startswith("/files/"):
            name = path[len("/files/"):]
            want_metadata = name.endswith(".metadata")
            with self._lock:
                entry = self.files.get(name.removesuffix(".metadata"))
            if entry is None:
                req.send_error(404)
                return
            data = _wheel_metadata(entry.path) if want_metadata else entry.path.read_bytes()
            self._send(req, data, "application/octet-stream", head=head)
        else:
            req.send_error(404)

    @staticmethod
    def _send(req: BaseHTTPRequestHandler, body: bytes, ctype: str, head: bool = False) -> None:
        req.send_response(200)
        req.send_header("Content-Type", ctype)
        req.send_header("Content-Length", str(len(body)))
        req.send_header("Cache-Control", "max-age=0")
        req.end_headers()
        if not head:
            req.wfile.write(body)

    def _send_list(self, req: BaseHTTPRequestHandler, want_json: bool) -> None:
        names = self.projects()
        if want_json:
            doc = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in names]}
            self._send(req, json.dumps(doc).encode(), JSON_TYPE)
        else:
            links = "".join(f'<a href="/simple/{n}/">{n}</a>\n' for n in names)
            self._send(req, f"<!DOCTYPE html><html><body>\n{links}</body></html>".encode(),
                       "text/html")

    def _send_project(self, req: BaseHTTPRequestHandler, project: str,
                      files: list[IndexedFile], want_json: bool) -> None:
        if want_json:
            doc = {
                "meta": {"api-version": "1.1"},
                "name": project,
                "versions": sorted({_version_of(f.path.name) for f in files}),
                "files": [
                    {
                        "filename": f.path.name,
                        "url": f"{self.base}/files/{f.path.name}",
                        "hashes": {"sha256": f.sha256},
                        "requires-python": f.requires_python,
                        "yanked": f.yanked,
                        "size": f.path.stat().st_size,
                        "core-metadata": {"sha256": _metadata_sha(f.path)}
                        if f.path.name.endswith(".whl") else False,
                        "upload-time": f.upload_time.astimezone(UTC)
                        .strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    }
                    for f in files
                ],
            }
            self._send(req, json.dumps(doc).encode(), JSON_TYPE)
            return
        anchors = []
        for f in files:
            attrs = ""
            if f.requires_python:
                attrs += f' data-requires-python="{html.escape(f.requires_python)}"'
            if f.path.name.endswith(".whl"):
                attrs += f' data-core-metadata="sha256={_metadata_sha(f.path)}"'
            if f.yanked:
                reason = f.yanked if isinstance(f.yanked, str) else ""
                attrs += f' data-yanked="{html.escape(reason)}"'
            anchors.append(f'<a href="{self.base}/files/{f.path.name}#sha256={f.sha256}"{attrs}>'
                           f"{f.path.name}</a><br/>")
        body = "<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>"
        self._send(req, body.encode(), "text/html")


def _version_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return filename.split("-")[1]
    stem = re.sub(r"\.(tar\.gz|zip|tar\.bz2)$", "", filename)
    return stem.rsplit("-", 1)[1]


def _wheel_metadata(path: Path) -> bytes:
    """The METADATA file inside a wheel (PEP 658 serves it next to the wheel)."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                return zf.read(name)
    raise FileNotFoundError(f"no METADATA in {path}")


def _metadata_sha(path: Path) -> str:
    return hashlib.sha256(_wheel_metadata(path)).hexdigest()
