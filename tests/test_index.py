"""PyPI index client: file:// roots, HTTP with cache/TTL/offline, and the release helpers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from driftdoc.env.knowledge.distfiles import (
    DistFile,
    Release,
    filter_releases,
    group_by_major,
    group_by_minor,
    latest,
    python_matches,
)
from driftdoc.env.knowledge.index import IndexClient, IndexError_, ProjectNotFound


def f(name: str, when: str, rp: str | None = None, yanked: bool | str = False) -> dict[str, Any]:
    return {"filename": name, "url": f"../../files/{name}", "hashes": {"sha256": "00"},
            "requires-python": rp, "upload-time": when, "yanked": yanked, "size": 10}


PAGE: dict[str, Any] = {
    "meta": {"api-version": "1.1"},
    "name": "demo-pkg",
    "versions": ["0.9", "1.0", "1.1", "2.0", "2.1rc1", "3.0"],
    "files": [
        f("demo_pkg-0.9.tar.gz", "2014-01-01T00:00:00Z"),
        f("demo-pkg-1.0.tar.gz", "2015-06-01T00:00:00Z"),
        f("demo_pkg-1.0-py2.py3-none-any.whl", "2015-06-02T00:00:00Z"),
        f("demo_pkg-1.1-py2.py3-none-any.whl", "2016-03-01T00:00:00Z", ">=2.7"),
        f("demo_pkg-2.0-py3-none-any.whl", "2019-01-01T00:00:00Z", ">=3.6"),
        f("demo_pkg-2.1rc1-py3-none-any.whl", "2019-05-01T00:00:00Z", ">=3.6"),
        f("demo_pkg-3.0-py3-none-any.whl", "2023-01-01T00:00:00.123Z", ">=3.9",
          yanked="broken"),
    ],
}


@pytest.fixture()
def file_index(tmp_path: Path) -> str:
    (tmp_path / "demo-pkg").mkdir()
    (tmp_path / "demo-pkg" / "index.json").write_text(json.dumps(PAGE))
    return tmp_path.as_uri() + "/"


def test_releases_from_file_index(file_index: str) -> None:
    client = IndexClient(index_url=file_index)
    rels = client.releases("Demo_Pkg")
    assert [r.version for r in rels] == ["0.9", "1.0", "1.1", "2.0", "2.1rc1", "3.0"]
    r10 = rels[1]
    assert r10.upload_time == datetime(2015, 6, 1, tzinfo=UTC)  # earliest file
    assert len(r10.files) == 2 and r10.has_wheel
    assert rels[-1].yanked and rels[-1].requires_python == ">=3.9"
    assert rels[3].files[0].url.endswith("/files/demo_pkg-2.0-py3-none-any.whl")


def test_filters(file_index: str) -> None:
    rels = IndexClient(index_url=file_index).releases("demo-pkg")
    assert [r.version for r in filter_releases(rels)] == ["0.9", "1.0", "1.1", "2.0"]
    assert [r.version for r in filter_releases(rels, python="2.7")] == ["0.9", "1.0", "1.1"]
    assert [r.version for r in filter_releases(rels, include_yanked=True, python="3.11")][-1] \
        == "3.0"
    as_of = datetime(2016, 1, 1)
    assert [r.version for r in filter_releases(rels, as_of=as_of)] == ["0.9", "1.0"]
    assert "2.1rc1" in [r.version for r in filter_releases(rels, include_prereleases=True)]
    assert latest(filter_releases(rels, python="3.8")).version == "2.0"  # type: ignore[union-attr]
    assert list(group_by_minor(rels)) == ["0.9", "1.0", "1.1", "2.0", "2.1", "3.0"]
    assert sorted(group_by_major(rels)) == [0, 1, 2, 3]


def test_python_matches() -> None:
    assert python_matches(None, "2.7")
    assert python_matches(">=2.7, !=3.0.*, !=3.1.*", "3.6")
    assert not python_matches(">=3.6", "2.7")
    assert python_matches("<3.7", "3.6")
    assert python_matches("garbage>>", "3.6")  # invalid specifiers admit everything


def test_missing_project_file_index(file_index: str) -> None:
    with pytest.raises(ProjectNotFound):
        IndexClient(index_url=file_index).releases("nope")


def test_env_var_sets_index(file_index: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTDOC_INDEX_URL", file_index)
    assert IndexClient().index_url == file_index


class _Handler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(self.path)
        if self.path.rstrip("/").endswith("demo-pkg"):
            if self.headers.get("If-None-Match") == '"v1"':
                self.send_response(304)
                self.end_headers()
                return
            body = json.dumps(PAGE).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def http_index() -> Iterator[str]:
    _Handler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def test_http_cache_ttl_and_offline(http_index: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    client = IndexClient(index_url=http_index, cache_dir=cache)
    assert len(client.releases("demo-pkg")) == 6
    assert len(_Handler.hits) == 1
    # fresh cache: a new client does not ask again
    IndexClient(index_url=http_index, cache_dir=cache).releases("demo-pkg")
    assert len(_Handler.hits) == 1
    # expired: revalidated with the ETag (304) and still answers
    IndexClient(index_url=http_index, cache_dir=cache, ttl=0).releases("demo-pkg")
    assert len(_Handler.hits) == 2
    # offline: the cache answers, even when stale
    off = IndexClient(index_url=http_index, cache_dir=cache, offline=True, ttl=0)
    assert len(off.releases("demo-pkg")) == 6
    assert len(_Handler.hits) == 2
    with pytest.raises(IndexError_, match="offline"):
        off.releases("other")
    with pytest.raises(ProjectNotFound):
        client.releases("other")


def test_unreachable_index(tmp_path: Path) -> None:
    client = IndexClient(index_url="http://127.0.0.1:9/simple/", cache_dir=tmp_path, timeout=2)
    with pytest.raises(IndexError_, match="cannot reach"):
        client.releases("demo-pkg")


@pytest.mark.network
def test_real_pypi(tmp_path: Path) -> None:
    rels = IndexClient(cache_dir=tmp_path).releases("six")
    versions = [r.version for r in rels]
    assert "1.16.0" in versions and "1.9.0" in versions
    r = next(r for r in rels if r.version == "1.16.0")
    assert r.upload_time is not None and r.upload_time.year == 2021


def test_search_and_resolution_read_one_cached_page(
        http_index: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # one client and one cache: what the rules and the resolver's checks see is the same page
    from driftdoc.env.knowledge.releases import IndexReleases
    from driftdoc.env.toolchain.checks import RESOLVE_TTL

    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path))
    search = IndexReleases(index_url=http_index)
    assert search.versions("demo-pkg", "3.8", None) == ["0.9", "1.0", "1.1", "2.0"]
    resolver = IndexReleases(index_url=http_index, ttl=RESOLVE_TTL)
    assert len(resolver.files("demo-pkg")) == len(PAGE["files"])
    assert len(_Handler.hits) == 1


def test_versions_in_file_names() -> None:
    from driftdoc.env.knowledge.distfiles import version_from_filename

    assert version_from_filename("demo_pkg-1.1-py2.py3-none-any.whl", "demo-pkg") == "1.1"
    assert version_from_filename("demo-pkg-1.0.tar.gz", "demo-pkg") == "1.0"
    assert version_from_filename("Demo.Pkg-2.0.tar.bz2", "demo-pkg") == "2.0"  # no packaging
    assert version_from_filename("demo_pkg-0.3-py2.7.egg", "demo-pkg") == "0.3"
    assert version_from_filename("Imaging-1.1.7.tar.gz", "pil") == "1.1.7"  # another name
    assert version_from_filename("demo_pkg-1.0.win32.exe", "demo-pkg") is None
    assert version_from_filename("README.txt", "demo-pkg") is None


def test_index_releases_tell_which_pythons_a_release_has_wheels_for() -> None:
    from driftdoc.env.knowledge.index import IndexClient
    from driftdoc.env.knowledge.releases import IndexReleases

    def rel(version: str, *names: str) -> Release:
        return Release(version, None, None, False,
                       [DistFile(n, n, None, None, False) for n in names])

    class Client(IndexClient):
        def releases(self, name: str) -> list[Release]:
            if name == "pure":
                return [rel("1.0", "pure-1.0.tar.gz", "pure-1.0-py3-none-any.whl")]
            if name == "win":
                return [rel("1.0", "win-1.0.tar.gz", "win-1.0-cp38-cp38-win_amd64.whl")]
            return [rel("0.18.2", "c-0.18.2.tar.gz", "c-0.18.2-cp36-cp36m-manylinux1_x86_64.whl",
                        "c-0.18.2-cp37-cp37m-win_amd64.whl"),
                    rel("0.16.1", "c-0.16.1.tar.gz")]

    idx = IndexReleases(Client(index_url="file:///nowhere"))
    if __import__("platform").machine() == "x86_64":
        assert idx.wheel_pythons("c", "0.18.2", ["3.8", "3.7", "3.6"]) == ["3.6"]
    assert idx.wheel_pythons("c", "0.16.1", ["3.8", "3.6"]) == []
    assert idx.wheel_pythons("pure", "1.0", ["3.8"]) is None
    assert idx.wheel_pythons("win", "1.0", ["3.8"]) is None  # builds from source here anyway
