"""What the fake sms.ru and uCaller servers share: a loopback HTTP server in
a daemon thread, the requests and calls it records, and its faults.

Standard library only, like the telefon-ip fake (``fake_telefonip.py``).
Each fake subclasses :class:`LoopbackFake` and implements :meth:`answer`,
which reads one request and returns the provider's documented answer
(placing a call when it is asked for one). Faults, common to both fakes:

``"refuse"``        stop listening; connections are refused (RST) until
                    ``set_fault(None)``. The port stays reserved meanwhile.
``"timeout"``       sleep ``slow_seconds``, then answer normally: the call
                    *is* placed, as a real provider that answers late does
``"server_error"``  502/500 with an HTML body, no call
``"drop"``          read the request, close the socket without answering, no call
``"malformed"``     200 with a body that is not JSON, no call

Nothing here logs or prints: the secrets are in every request.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

__all__ = ["COMMON_FAULTS", "FakeCall", "FakeRequest", "LoopbackFake"]

COMMON_FAULTS = frozenset({"refuse", "timeout", "server_error", "drop", "malformed"})
_random = random.SystemRandom()

Answer = tuple[int, Any]  # HTTP status, JSON payload (dict) or raw bytes


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names
    params: dict[str, str]  # query string, then form fields of a POST body
    json: Any  # the decoded JSON body, or None
    time: float

    @property
    def action(self) -> str:
        """The last path segment: ``call`` (sms.ru), ``initCall`` (uCaller)..."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def field(self, name: str) -> str:
        """A parameter from the JSON body, the form or the query string."""
        if isinstance(self.json, dict) and name in self.json:
            value = self.json[name]
            return value if isinstance(value, str) else json.dumps(value)
        return self.params.get(name, "")


@dataclass
class FakeCall:
    phone: str  # 79XXXXXXXXX
    caller: str  # the number that "calls"; its last 4 digits are the code
    code: str
    id: str
    cost: float
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    delivered: bool | None = True
    unique: str = ""  # uCaller's idempotency key, if one was sent
    client_ip: str = ""  # sms.ru's ``ip`` parameter


def random_caller(code: str | None = None) -> str:
    """A Russian number ending in ``code`` (random if None)."""
    head = "79" + "".join(_random.choice("0123456789") for _ in range(5))
    return head + (code if code is not None else f"{_random.randrange(10000):04d}")


class LoopbackFake:
    """A provider fake on ``127.0.0.1``; ``with Fake() as fake: fake.url``."""

    faults: frozenset[str] = COMMON_FAULTS
    url_path = "/"
    server_version = "Fake/1.0"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, slow_seconds: float = 2.0):
        self.host = host
        self._requested_port = port
        self._bound_port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._placeholder: socket.socket | None = None
        self._lock = threading.RLock()
        self._calls_changed = threading.Condition(self._lock)
        self._generation = 0
        self._wake = threading.Event()
        self._slow_default = slow_seconds
        self._reset_common()

    # -- what tests read and set ---------------------------------------------

    def _reset_common(self) -> None:
        self.slow_seconds: float = self._slow_default
        self.fault: str | None = None
        self.fault_count: int | None = None
        self.fault_actions: frozenset[str] | None = None  # None: the call action only
        self.requests: list[FakeRequest] = []
        self.calls: list[FakeCall] = []
        self.connections = 0

    def reset(self) -> None:
        """Forget requests, calls and faults; tunables back to their defaults."""
        with self._lock:
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()
            refusing = self._placeholder is not None
            self._reset_common()
            self._reset_tunables()
        if refusing:
            self._listen()

    def _reset_tunables(self) -> None:  # subclasses reset their own
        pass

    def set_fault(self, name: str | None, count: int | None = None) -> None:
        """Misbehave on the next ``count`` call requests (all if None).

        ``"refuse"`` ignores ``count``: it lasts until ``set_fault(None)``.
        """
        if name is not None and name not in self.faults:
            raise ValueError(f"unknown fault {name!r}; one of {sorted(self.faults)}")
        with self._lock:
            was_refusing = self.fault == "refuse"
            self.fault, self.fault_count = name, (None if name == "refuse" else count)
        if name == "refuse":
            self._refuse()
        elif was_refusing:
            self._listen()

    def last_call(self, phone: str | None = None) -> FakeCall | None:
        wanted = _stored(phone) if phone is not None else None
        with self._lock:
            for call in reversed(self.calls):
                if wanted is None or call.phone == wanted:
                    return call
        return None

    def last_code(self, phone: str | None = None) -> str | None:
        call = self.last_call(phone)
        return call.code if call is not None else None

    code_for = last_code

    def wait_for_calls(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until the fake has placed ``count`` calls (a ``"timeout"``
        fault places its call after its pause); False if it did not in time."""
        with self._calls_changed:
            return self._calls_changed.wait_for(lambda: len(self.calls) >= count, timeout)

    def requests_for(self, action: str) -> list[FakeRequest]:
        with self._lock:
            return [r for r in self.requests if r.action == action]

    # -- lifecycle -------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._bound_port or self._requested_port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The provider's ``url`` option pointing at this fake."""
        return self.base_url + self.url_path

    def start(self) -> Self:
        if self._server is None and self._placeholder is None:
            self._listen()
        return self

    def stop(self) -> None:
        self._close_server()
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _listen(self) -> None:
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        if self._server is not None:
            return
        with self._lock:
            self._wake = threading.Event()
        port = self._bound_port or self._requested_port
        self._server = _Server((self.host, port), _Handler, self)
        self._bound_port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()

    def _refuse(self) -> None:
        """Close the listener but keep the port bound (never listening), so
        a connect gets an immediate RST and nobody else takes the port."""
        self._close_server()
        if self._placeholder is None and self._bound_port:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._bound_port))
            self._placeholder = sock

    def _close_server(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._wake.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- for the handler -----------------------------------------------------------

    def _take_fault(self, request: FakeRequest) -> str | None:
        """Under the lock: the fault for a request, counted down."""
        actions = self.fault_actions
        if self.fault is None or self.fault == "refuse" or not self.authorized(request):
            return None
        if actions is None:
            if not self.is_call(request):
                return None
        elif request.action not in actions:
            return None
        fault = self.fault
        if self.fault_count is not None:
            self.fault_count -= 1
            if self.fault_count <= 0:
                self.fault, self.fault_count = None, None
        return fault

    def _record(self, request: FakeRequest) -> tuple[str | None, int, threading.Event, float]:
        with self._lock:
            self.requests.append(request)
            return self._take_fault(request), self._generation, self._wake, self.slow_seconds

    def _new_call(self, phone: str, code: str, call_id: str, cost: float, **extra: Any) -> FakeCall:
        """Under the lock: issue a call (the caller ends in ``code``)."""
        call = FakeCall(phone, random_caller(code), code, call_id, cost, **extra)
        self.calls.append(call)
        self._calls_changed.notify_all()
        return call

    # -- what a fake implements ------------------------------------------------------

    def authorized(self, request: FakeRequest) -> bool:
        """Whether the request carries the right credentials (faults hit only those)."""
        raise NotImplementedError

    def is_call(self, request: FakeRequest) -> bool:
        """Whether the request asks for a call (faults hit only those by default)."""
        raise NotImplementedError

    def answer(self, request: FakeRequest) -> Answer:
        """The normal answer; called under the fake's lock."""
        raise NotImplementedError


def _stored(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        return "7" + digits[1:]
    if len(digits) == 10:
        return "7" + digits
    return digits


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, fake: LoopbackFake) -> None:
        self.fake = fake
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.fake._lock:
            self.fake.connections += 1
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            for sock in list(self._open):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up (timeout tests) is normal here


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request line holds secrets

    def version_string(self) -> str:
        return self.server.fake.server_version

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = _parse(self.command, self.path, dict(self.headers.items()), body)
        fault, generation, wake, slow = fake._record(request)
        if fault == "drop":
            self.close_connection = True
            return
        if fault == "timeout":
            wake.wait(slow)
            if fake._generation != generation or fake._server is None:
                self.close_connection = True
                return
            fault = None
        if fault == "server_error":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self._send(502, page, "text/html")
            return
        if fault == "malformed":
            self._send(200, b"<html>OK</html>", "text/html")
            return
        with fake._lock:
            status, payload = fake.answer(request)
        if isinstance(payload, bytes):
            self._send(status, payload, "text/plain")
        else:
            self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _parse(method: str, target: str, headers: dict[str, str], body: bytes) -> FakeRequest:
    split = urlsplit(target)
    params = dict(parse_qsl(split.query))
    lower = {k.lower(): v for k, v in headers.items()}
    decoded: Any = None
    if body:
        if "json" in lower.get("content-type", ""):
            try:
                decoded = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                decoded = None
        else:
            params.update(parse_qsl(body.decode("latin-1")))
    return FakeRequest(method, split.path, lower, params, decoded, time.time())
