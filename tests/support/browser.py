"""Render driftdoc's HTML reports in the system's headless Chromium, with the network cut.

``render(path)`` loads the page twice (its DOM after rendering, and a screenshot) through
a proxy that does not exist, with Chromium's own background traffic switched off, and
records a net log: ``Rendered.page_requests`` lists every network request the *page*
made (Chromium's own update and account pings are told apart by their isolation key).
A report must render fully this way and make no request at all.
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = next((p for p in (shutil.which("chromium"), shutil.which("chromium-browser"))
                 if p), None)

FLAGS = ["--headless", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio",
         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def need_chromium() -> str:
    """The Chromium binary; CI must have it (scripts/setup installs it), elsewhere skip."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (scripts/setup installs it with apt-get)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@dataclass
class Rendered:
    dom: str
    text: str  # the DOM without tags, whitespace collapsed: what a reader sees
    png: bytes
    page_requests: list[str]


def _run(argv: list[str], profile: Path) -> subprocess.CompletedProcess[bytes]:
    flags = [*FLAGS, f"--user-data-dir={profile}"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run([argv[0], *flags, *argv[1:]], capture_output=True, timeout=120,
                          check=False, stdin=subprocess.DEVNULL)


def _page_requests(netlog: Path) -> list[str]:
    """URLs the page (a file:// document) asked the network for."""
    try:
        data = json.loads(netlog.read_text(encoding="utf-8", errors="replace"))
    except (OSError, json.JSONDecodeError):
        text = netlog.read_text(encoding="utf-8", errors="replace").rstrip().rstrip(",")
        data = json.loads(text + "]}")  # a log cut short at exit lacks its closing
    urls = []
    for event in data.get("events", []):
        params = event.get("params") or {}
        url = str(params.get("url", ""))
        if url and not url.startswith(("file:", "data:")) and \
                "file://" in str(params.get("network_isolation_key", "")):
            urls.append(url)
    return sorted(set(urls))


def render(page: Path, *, size: tuple[int, int] = (1200, 1600)) -> Rendered:
    binary = need_chromium()
    url = page.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="driftdoc-chromium-") as tmp:
        work = Path(tmp)
        netlog = work / "net.json"
        dom = _run([binary, f"--log-net-log={netlog}", "--dump-dom", url], work / "profile")
        assert dom.returncode == 0, dom.stderr.decode(errors="replace")[-2000:]
        shot = work / "page.png"
        res = _run([binary, f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}", url],
                   work / "profile2")
        assert res.returncode == 0 and shot.is_file(), res.stderr.decode(errors="replace")[-2000:]
        html = dom.stdout.decode("utf-8", errors="replace")
        bare = re.sub(r"<[^>]+>", " ", re.sub(r"<style.*?</style>", " ", html, flags=re.S))
        text = " ".join(html_lib.unescape(bare).split())
        return Rendered(html, text, shot.read_bytes(), _page_requests(netlog))


def png_colours(png: bytes) -> int:
    """Distinct byte groups in a PNG's (filtered) rows: a blank page has a handful, a
    rendered report hundreds. A rough test that something was drawn."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, bpp = 8, b"", 0, 0, 4
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        chunk = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            bpp = {2: 3, 6: 4, 0: 1, 4: 2}.get(ctype, 4) * max(1, depth // 8)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp + 1
    seen: set[bytes] = set()
    for row in range(0, height, max(1, height // 200)):  # sampled rows, filter byte skipped
        line = raw[row * stride + 1:(row + 1) * stride]
        seen.update(line[i:i + bpp] for i in range(0, len(line), bpp * 3))
    return len(seen)


def no_external_references(html: str) -> None:
    """Nothing in the file may be fetched: no scripts, links, remote images or imports."""
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//)""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:|//)", html, re.I)


def check_report(path: Path, facts: list[str]) -> str:
    """Self-contained, makes no request with the network cut, shows ``facts``, draws."""
    html = path.read_text(encoding="utf-8")
    no_external_references(html)
    page = render(path)
    assert page.page_requests == [], page.page_requests  # works offline: asked for nothing
    missing = [f for f in facts if f not in page.text]
    assert not missing, f"{missing} not shown in {page.text[:3000]}"
    assert png_colours(page.png) > 40  # something was drawn, not a blank page
    return page.text
