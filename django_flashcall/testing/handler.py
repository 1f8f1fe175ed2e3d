"""The HTTP side of the fake: a threading server and its request handler.

Standard library only. The handler speaks HTTP/1.1 keep-alive with an exact
``Content-Length`` on every answer, records each request in the fake's state,
then misbehaves (drop, pause, fault body) or answers as ``protocol.py`` says.
The server counts connections and can unblock idle keep-alive threads on stop.
Nothing here logs: the token is in every request path.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from . import protocol


class CountsConnections(Protocol):
    def _connection_opened(self) -> None: ...


class Server(ThreadingHTTPServer):
    """A threading server for any fake (this one's and the other providers'):
    counts connections and can unblock idle keep-alive threads on stop."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, fake: CountsConnections) -> None:
        self.fake: Any = fake  # the handler knows which fake it serves
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.fake._connection_opened()
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handler threads idling on keep-alive connections."""
        with self._open_lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (timeout tests) is normal here; stay silent


class QuietHandler(BaseHTTPRequestHandler):
    """What every fake's handler does alike: HTTP/1.1 keep-alive, no log,
    one ``_serve()`` for every method, the body read by its length, the
    dropped and paused requests, and answers with an exact Content-Length."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # http.server would print each request line, secrets included

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        raise NotImplementedError

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _play(self, recorded: tuple[Any, int, threading.Event, float], pause: str) -> Any:
        """The fault ``fake._record()`` gave, after dropping the connection
        (``drop``, or a reset or stop during the ``pause`` fault): None then,
        as for no fault; a pause that ran out goes on as no fault."""
        fault, generation, wake, slow = recorded
        fake = self.server.fake
        if fault == pause:
            wake.wait(slow)
            if fake._generation == generation and fake._server is not None:
                return None
            fault = "drop"  # reset or stopped meanwhile
        if fault == "drop":
            self.close_connection = True
            raise _Dropped
        return fault

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Dropped(Exception):
    """The request gets no answer (see :meth:`QuietHandler._play`)."""


class Handler(QuietHandler):
    server_version = "FakeTelefonIP/1.0"

    def _serve(self) -> None:
        fake = self.server.fake
        request, arg = protocol.parse(self.command, self.path, self._body())
        try:
            fault = self._play(fake._record(request), pause="slow")
        except _Dropped:
            return
        if fault is not None:
            status, payload, headers = protocol.fault_response(fault, self.path)
            self._send(status, payload, headers)
            return
        status, answer = protocol.answer(fake, request, arg)
        self._send(status, protocol.dumps(answer), {"Content-Type": "application/json"})
