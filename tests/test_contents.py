"""The release-content oracle: file lists of wheels (by range requests) and sdists."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from driftdoc.env.knowledge import contents
from driftdoc.env.knowledge.contents import (
    release_members,
    sdist_members,
    ships_module,
    wheel_members,
)
from driftdoc.env.knowledge.distfiles import DistFile, Release
from support.wheels import make_sdist, make_wheel


class _Ranged(BaseHTTPRequestHandler):
    """Serves files from ``root`` and honours single ``Range`` requests (as PyPI's CDN
    does); counts the bytes it sends."""

    root: Path
    sent: list[int]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        data = (self.root / self.path.lstrip("/")).read_bytes()
        spec = self.headers.get("Range")
        status = 200
        if spec:
            first, _, last = spec.removeprefix("bytes=").partition("-")
            if not first:
                data = data[-int(last):]
            else:
                data = data[int(first): int(last) + 1 if last else None]
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.sent.append(len(data))


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Path, list[int]]]:
    root = tmp_path / "files"
    root.mkdir()
    sent: list[int] = []
    handler = type("H", (_Ranged,), {"root": root, "sent": sent})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", root, sent
    finally:
        server.shutdown()
        server.server_close()


def test_ships_module_finds_modules_packages_extensions_and_src_layouts() -> None:
    assert ships_module(["httpie/__init__.py", "httpie/pygson.py"], "httpie.pygson")
    assert ships_module(["src/pkg/sub/__init__.py"], "pkg.sub")
    assert ships_module(["pkg/_speed.cpython-38-x86_64-linux-gnu.so"], "pkg._speed")
    assert ships_module(["tensorflow-1.14.0.data/purelib/tensorflow/contrib/__init__.py"],
                        "tensorflow.contrib")
    assert not ships_module(["httpie/__init__.py", "tests/httpie/pygson.py"], "httpie.pygson")
    assert not ships_module(["pkg/sub/deeper.py"], "pkg.sub")


def test_wheel_list_comes_from_its_tail_without_downloading_it_whole(
        tmp_path: Path, served: tuple[str, Path, list[int]]) -> None:
    url, root, sent = served
    # incompressible bulk, so that the wheel is much larger than what is read of it
    bulk = random.Random(0).randbytes(400_000)
    wheel = make_wheel(root, "bigpkg", "1.0", {"bigpkg/__init__.py": "",
                                               "bigpkg/blob.bin": bulk,
                                               "bigpkg/old.py": "x = 1\n"})
    names = wheel_members(f"{url}/{wheel.name}", wheel.stat().st_size)
    assert "bigpkg/old.py" in names and "bigpkg/blob.bin" in names
    assert sum(sent) < wheel.stat().st_size // 4


def test_sdist_list_drops_the_top_folder(tmp_path: Path,
                                         served: tuple[str, Path, list[int]]) -> None:
    url, root, _ = served
    make_sdist(root / "httpie-0.2.0.tar.gz", "httpie-0.2.0",
           {"setup.py": "", "httpie/__init__.py": "", "httpie/pygson.py": ""})
    assert sorted(sdist_members(f"{url}/httpie-0.2.0.tar.gz")) == \
        ["httpie/__init__.py", "httpie/pygson.py", "setup.py"]


def test_release_members_prefers_a_wheel_and_caches_the_list(
        tmp_path: Path, served: tuple[str, Path, list[int]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    url, root, sent = served
    wheel = make_wheel(root, "pkg", "2.0", {"pkg/__init__.py": "", "pkg/gone.py": "",
                                            "pkg/data/table.csv": "a,b\n"})
    sdist = make_sdist(root / "pkg-2.0.tar.gz", "pkg-2.0", {"pkg/__init__.py": ""})
    when = datetime(2015, 1, 1, tzinfo=UTC)
    files = [DistFile(p.name, f"{url}/{p.name}", when, None, False, p.stat().st_size)
             for p in (sdist, wheel)]
    release = Release("2.0", when, None, False, files)
    first = release_members(release)
    assert first is not None and "pkg/gone.py" in first
    assert "pkg/data/table.csv" not in first  # only module files are kept (and cached)
    requests = len(sent)
    assert release_members(release) == first and len(sent) == requests  # from the cache


def test_release_without_a_listable_file_is_unknown(monkeypatch: pytest.MonkeyPatch,
                                                     tmp_path: Path) -> None:
    monkeypatch.setenv("DRIFTDOC_CACHE_DIR", str(tmp_path / "cache"))
    huge = DistFile("pkg-1.0.tar.gz", "http://127.0.0.1:9/pkg-1.0.tar.gz", None, None, False,
                    contents.SDIST_LIMIT + 1)
    assert release_members(Release("1.0", None, None, False, [huge])) is None
    unreachable = DistFile("pkg-1.1.tar.gz", "http://127.0.0.1:9/pkg-1.1.tar.gz", None, None,
                           False, 100)
    assert release_members(Release("1.1", None, None, False, [unreachable])) is None
