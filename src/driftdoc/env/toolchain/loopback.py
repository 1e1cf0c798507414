"""A loopback HTTP server for the indexes driftdoc shows an installer (the 2.7 date proxy,
the lenient-metadata index): one way to start, answer and stop them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handle = Callable[[BaseHTTPRequestHandler, bool], None]
"""Answers one request; the flag says it is a HEAD (headers only)."""


class LoopbackServer:
    """``handle`` served on 127.0.0.1 at a free port, from a daemon thread, quietly."""

    def __init__(self, handle: Handle) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                handle(self, False)

            def do_HEAD(self) -> None:
                handle(self, True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send_body(req: BaseHTTPRequestHandler, body: bytes, ctype: str, head: bool = False) -> None:
    """A 200 answer with ``body`` (its headers only for a HEAD)."""
    req.send_response(200)
    req.send_header("Content-Type", ctype)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    if not head:
        req.wfile.write(body)
