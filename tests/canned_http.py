"""A loopback HTTP server that gives every request one scripted answer.

For provider-client tests of answers the fake servers never give (an
undocumented body, an odd status): the client runs its real transport over
real HTTP, as against the provider. ``canned.answer(200, json={...})``, then
point the client at ``canned.url``. Each request is recorded as
``(method, path)`` in ``canned.requests``.
"""

from __future__ import annotations

import json as jsonlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line holds the client's secret

    def do_GET(self) -> None:
        canned = self.server.canned
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        with canned.lock:
            canned.requests.append((self.command, self.path))
            status, body, content_type = canned.status, canned.body, canned.content_type
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    canned: CannedServer


class CannedServer:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.answer(200, json={})
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.canned = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """A base URL like a provider's (``.../api/v1/authcalls/``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1/authcalls/"

    def answer(self, status: int = 200, *, json: Any = None, body: str | bytes = "") -> None:
        """Answer every request from now on with ``status`` and ``json`` (or a raw ``body``)."""
        if json is not None:
            data, content_type = jsonlib.dumps(json).encode(), "application/json"
        else:
            data = body.encode() if isinstance(body, str) else body
            content_type = "text/plain"
        with self.lock:
            self.status, self.body, self.content_type = status, data, content_type

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
