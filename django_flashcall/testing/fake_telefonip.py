"""A fake telefon-ip.ru "authcalls" server (SPEC §1) on a loopback port.

Standard library only: an ``http.server.ThreadingHTTPServer`` in a daemon
thread, speaking HTTP/1.1 keep-alive with exact ``Content-Length`` so a
client's connection reuse can be measured (:attr:`FakeTelefonIP.connections`).

It records every request it receives (:attr:`~FakeTelefonIP.requests`) and
every call it "places" (:attr:`~FakeTelefonIP.calls`), and can misbehave on
demand (:meth:`~FakeTelefonIP.set_fault`). Faults hit ``get_code`` only unless
``fault_actions`` says otherwise. A faulted request places no call, except
``"slow"``, which answers normally after its pause. Faults:

``"server_error"``  500 with an HTML body
``"slow"``          sleep ``slow_seconds`` (default 2), then answer normally
``"malformed"``     200 with a body that is not JSON
``"success_false"`` 200 ``{"success": false, ...}``
``"bad_code"``      200 success with ``data.code == "12a"``
``"missing_code"``  200 success with no ``data.code``
``"format_error"``  400 "does not match the format..." whatever the phone
``"drop"``          read the request, close the socket without answering
``"redirect"``      302 to ``/moved/<same path>`` (served normally if followed)
``"huge"``          200 with a 1 MB (valid JSON) body

Nothing here logs or prints: the token is in every request path.
"""

from __future__ import annotations

import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["FAULTS", "FakeTelefonIP", "IssuedCall", "RecordedRequest", "refused_url"]

API_PATH = "/api/v1/authcalls/"
DEFAULT_TOKEN = "fake-telefonip-token"  # noqa: S105  (only this fake accepts it)
FAULTS = frozenset(
    "server_error slow malformed success_false bad_code missing_code format_error drop "
    "redirect huge".split()
)
FORMAT_ERROR = "does not match the format 89XXXXXXXXX or phone field is missing"
LIMIT_ERROR = "limit of calls per day exceeded"
_PATH = re.compile(
    r"^(?P<moved>/moved)?/api/v1/authcalls/(?P<token>[^/]+)/"
    r"(?P<action>get_code|get_status|get_balance)(?:/(?P<arg>[^/]*))?/?$"
)
_PROVIDER_PHONE = re.compile(r"^89\d{9}$")
_random = random.SystemRandom()
_held_sockets: list[socket.socket] = []


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as received, token included; "/moved/..." if a redirect was followed
    token: str  # "" when the path did not parse
    action: str  # "get_code", "get_status", "get_balance" or "" (404)
    phone: str  # "" unless get_code
    query: dict[str, str]  # query string, plus form fields of a POST body
    time: float  # time.time() at receipt


@dataclass
class IssuedCall:
    phone: str  # provider form, 89XXXXXXXXX
    phone7: str  # stored form, 79XXXXXXXXX
    caller: str  # the number that "calls"; its last 4 digits are the code
    code: str
    id: int
    sms: bool
    created_at: datetime
    delivered: bool = True
    status_info: str = "Ok: SIP 200 OK"


def _provider_form(phone: str) -> str:
    """``+7 (924) 450-10-03``, ``79244501003``, ``9244501003`` → ``89244501003``."""
    digits = "".join(ch for ch in phone if ch.isascii() and ch.isdigit())
    if len(digits) == 11 and digits[0] in "78":
        return "8" + digits[1:]
    if len(digits) == 10:
        return "8" + digits
    return digits


def refused_url() -> str:
    """A base URL on 127.0.0.1 whose port refuses connections.

    The port stays bound (never listening) for the life of the process, so
    nothing else can take it and a connect gets an immediate RST.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _held_sockets.append(sock)
    return f"http://127.0.0.1:{sock.getsockname()[1]}{API_PATH}"


class FakeTelefonIP:
    """The fake server. ``with FakeTelefonIP() as fake: fake.url, fake.token``."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        daily_limit: int = 3,
        balance: float | str | Decimal = "5.0",
        price: float | str | Decimal = "0.2",
        balance_limit: float | str | Decimal = "0.0",
        slow_seconds: float = 2.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._defaults = {
            "token": token,
            "daily_limit": daily_limit,
            "balance": Decimal(str(balance)),
            "price": Decimal(str(price)),
            "balance_limit": Decimal(str(balance_limit)),
            "slow_seconds": slow_seconds,
        }
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._wake = threading.Event()
        self._reset_state()

    def __repr__(self) -> str:  # never the token
        return f"<FakeTelefonIP {self.host}:{self.port}>"

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> FakeTelefonIP:
        if self._server is None:
            self._server = _Server((self.host, self._requested_port), _Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="FakeTelefonIP",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._wake.set()  # let "slow" handlers give up at once
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeTelefonIP:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            return self._requested_port
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """The ``FLASHCALL_API_URL`` to use: ends in ``/api/v1/authcalls/``."""
        return self.base_url + API_PATH

    @property
    def connections(self) -> int:
        """TCP connections accepted since start or :meth:`reset`.

        A keep-alive connection a client opened before ``reset()`` and still
        reuses is not counted again.
        """
        return self._connections

    # -- state ---------------------------------------------------------------

    def _reset_state(self) -> None:
        self.token: str = self._defaults["token"]
        self.daily_limit: int = self._defaults["daily_limit"]
        self.balance: Decimal = self._defaults["balance"]
        self.price: Decimal = self._defaults["price"]
        self.balance_limit: Decimal = self._defaults["balance_limit"]
        self.slow_seconds: float = self._defaults["slow_seconds"]
        self.fault: str | None = None
        self.fault_count: int | None = None  # requests left to fault; None = forever
        self.fault_actions: frozenset[str] = frozenset({"get_code"})
        self.deliver_calls = True  # get_status of new calls: delivered or not
        self.status_as_bool = False  # get_status "status": true/false instead of 1/0
        self.price_as_string = False  # get_status/get_balance prices as "0.2"
        self.requests: list[RecordedRequest] = []
        self.calls: list[IssuedCall] = []
        self._connections = 0
        self._next_id = 1

    def reset(self) -> None:
        """Forget requests, calls, connections, faults and spending.

        Tunables go back to the constructor's values. A "slow" request still
        sleeping wakes up and is dropped, so it cannot leak into the next test.
        """
        with self._lock:
            self._generation += 1
            self._wake.set()
            self._wake = threading.Event()
            self._reset_state()

    def set_fault(self, name: str | None, count: int | None = None) -> None:
        """Misbehave on the next ``count`` faultable requests (all if None)."""
        if name is not None and name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; one of {sorted(FAULTS)}")
        if count is not None and count < 1:
            raise ValueError("count must be at least 1, or None for every request")
        with self._lock:
            self.fault, self.fault_count = name, count

    def set_status(self, call_id: int, delivered: bool, info: str | None = None) -> None:
        """What ``get_status`` will say about one call."""
        with self._lock:
            call = self._call(call_id)
            if call is None:
                raise KeyError(call_id)
            call.delivered = delivered
            call.status_info = info or ("Ok: SIP 200 OK" if delivered else "SIP 486 Busy Here")

    def last_call(self, phone: str | None = None) -> IssuedCall | None:
        """The newest call placed, to ``phone`` (any spelling) if given."""
        wanted = _provider_form(phone) if phone is not None else None
        with self._lock:
            for call in reversed(self.calls):
                if wanted is None or call.phone == wanted:
                    return call
        return None

    def last_code(self, phone: str | None = None) -> str | None:
        """The code of the newest call to ``phone`` (``79…``, ``89…``, ``+7 9…``)."""
        call = self.last_call(phone)
        return call.code if call is not None else None

    code_for = last_code

    def requests_for(self, action: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.action == action]

    def _call(self, call_id: int) -> IssuedCall | None:
        return next((c for c in self.calls if c.id == call_id), None)

    def _take_fault(self, action: str) -> str | None:
        """The fault for this request, if any; counts it down. Under the lock."""
        if self.fault is None or action not in self.fault_actions:
            return None
        fault = self.fault
        if self.fault_count is not None:
            self.fault_count -= 1
            if self.fault_count <= 0:
                self.fault, self.fault_count = None, None
        return fault

    # -- protocol --------------------------------------------------------------

    def _price(self, value: Decimal) -> float | str:
        return str(value) if self.price_as_string else float(value)

    def _get_code(self, phone: str, sms: bool) -> tuple[int, dict[str, Any]]:
        if not _PROVIDER_PHONE.match(phone):
            return 400, _error(FORMAT_ERROR)
        if sum(1 for c in self.calls if c.phone == phone) >= self.daily_limit:
            return 200, _error(LIMIT_ERROR)
        if self.balance - self.price < self.balance_limit:
            return 200, _error("insufficient funds")
        caller = "79" + "".join(_random.choice("0123456789") for _ in range(9))
        call = IssuedCall(
            phone=phone,
            phone7="7" + phone[1:],
            caller=caller,
            code=caller[-4:],
            id=self._next_id,
            sms=sms,
            created_at=datetime.now(UTC).replace(microsecond=0, tzinfo=None),
            delivered=self.deliver_calls,
        )
        if not call.delivered:
            call.status_info = "SIP 486 Busy Here"
        self._next_id += 1
        self.balance -= self.price
        self.calls.append(call)
        data = {"phone": call.phone7, "code": call.code, "id": call.id}
        return 200, {"success": True, "error": "", "data": data}

    def _get_status(self, arg: str) -> tuple[int, dict[str, Any]]:
        call = self._call(int(arg)) if arg.isascii() and arg.isdigit() else None
        if call is None:
            return 400, _error("id record not found")
        status: bool | int = call.delivered if self.status_as_bool else int(call.delivered)
        return 200, {
            "id": call.id,
            "created_at": call.created_at.isoformat(),
            "phone": call.phone,
            "status": status,
            "status_info": call.status_info,
            "price": self._price(self.price),
        }

    def _get_balance(self) -> tuple[int, dict[str, Any]]:
        return 200, {
            "balance": self._price(self.balance),
            "price": self._price(self.price),
            "balance_limit": self._price(self.balance_limit),
        }


def _error(message: str) -> dict[str, Any]:
    return {"success": False, "error": message, "data": {}}


def _fault_response(fault: str, handler: _Handler) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and extra headers for a fault other than slow and drop."""
    json_type = {"Content-Type": "application/json"}
    if fault == "server_error":
        body = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        return 500, body, {"Content-Type": "text/html"}
    if fault == "malformed":
        return 200, b"<html>OK</html>", {"Content-Type": "text/html"}
    if fault == "success_false":
        return 200, _dumps(_error("service temporarily unavailable")), json_type
    if fault == "format_error":
        return 400, _dumps(_error(FORMAT_ERROR)), json_type
    if fault in {"bad_code", "missing_code"}:
        data: dict[str, Any] = {"phone": "79000000000", "id": 0}
        if fault == "bad_code":
            data["code"] = "12a"
        return 200, _dumps({"success": True, "error": "", "data": data}), json_type
    if fault == "redirect":
        return 302, b"", {"Location": "/moved" + handler.path}
    if fault == "huge":
        padding = "x" * (1024 * 1024)
        data = {"phone": "79000000000", "code": "1234", "id": 0, "padding": padding}
        return 200, _dumps({"success": True, "error": "", "data": data}), json_type
    raise ValueError(fault)


def _dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], handler: type, fake: FakeTelefonIP) -> None:
        self.fake = fake
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.fake._lock:
            self.fake._connections += 1
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeTelefonIP/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # http.server would print each request line, token included

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        query = dict(parse_qsl(split.query))
        if self.command == "POST" and body:
            query.update(parse_qsl(body.decode("latin-1")))
        match = _PATH.match(split.path)
        token = unquote(match["token"]) if match else ""
        action = match["action"] if match else ""
        arg = unquote(match["arg"] or "") if match else ""
        phone = (arg or query.get("phone", "")) if action == "get_code" else ""
        known = self.command in {"GET", "POST"} and match is not None
        with fake._lock:
            generation = fake._generation
            wake = fake._wake
            fake.requests.append(
                RecordedRequest(
                    self.command,
                    self.path,
                    token,
                    action if known else "",
                    phone,
                    query,
                    time.time(),
                )
            )
            fault = fake._take_fault(action) if known and token == fake.token else None
            slow = fake.slow_seconds
        if fault == "drop":
            self.close_connection = True
            return
        if fault == "slow":
            wake.wait(slow)
            if fake._generation != generation or fake._server is None:
                self.close_connection = True  # reset or stopped meanwhile: drop it
                return
            fault = None
        if fault is not None:
            status, payload, headers = _fault_response(fault, self)
            self._send(status, payload, headers)
            return
        with fake._lock:
            if not known:
                status, answer = 404, _error("not found")
            elif token != fake.token:
                status, answer = 401, _error("Unauthorized token")
            elif action == "get_code":
                sms = query.get("sms", "").lower() == "true"
                status, answer = fake._get_code(phone, sms)
            elif action == "get_status":
                status, answer = fake._get_status(arg)
            elif arg:
                status, answer = 404, _error("not found")
            else:
                status, answer = fake._get_balance()
        self._send(status, _dumps(answer), {"Content-Type": "application/json"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
