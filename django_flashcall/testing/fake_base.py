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

import random
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from .fake_http import FakeRequest, JSONHandler
from .handler import Server

__all__ = ["COMMON_FAULTS", "FakeCall", "FakeRequest", "LoopbackFake"]

COMMON_FAULTS = frozenset({"refuse", "timeout", "server_error", "drop", "malformed"})
_random = random.SystemRandom()

Answer = tuple[int, Any]  # HTTP status, JSON payload (dict) or raw bytes


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
        self._server: Server | None = None
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

    def _connection_opened(self) -> None:
        with self._lock:
            self.connections += 1

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
            if self.fault == "refuse":  # set before the start: bind the port, never listen
                self._refuse()
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
        with self._lock:
            self._wake = threading.Event()
        port = self._bound_port or self._requested_port
        self._server = Server((self.host, port), JSONHandler, self)
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
        assert self._thread is not None  # started with the server
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
