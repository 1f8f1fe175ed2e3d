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

This module owns the fake's lifecycle (start, stop, port and URLs) and
:func:`refused_url`, and re-exports what users import from it. The rest lives
beside it: ``state.py`` (what the fake records and its locked operations),
``protocol.py`` (paths, answers and fault bodies) and ``handler.py`` (the HTTP
server and request handler).
"""

from __future__ import annotations

import socket
import threading
from decimal import Decimal

from .handler import Handler, Server
from .protocol import API_PATH
from .protocol import FORMAT_ERROR as FORMAT_ERROR
from .protocol import LIMIT_ERROR as LIMIT_ERROR
from .state import DEFAULT_TOKEN, FAULTS, FakeState, IssuedCall, RecordedRequest

__all__ = ["FAULTS", "FakeTelefonIP", "IssuedCall", "RecordedRequest", "refused_url"]

_held_sockets: list[socket.socket] = []


def refused_url() -> str:
    """A base URL on 127.0.0.1 whose port refuses connections.

    The port stays bound (never listening) for the life of the process, so
    nothing else can take it and a connect gets an immediate RST.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    _held_sockets.append(sock)
    return f"http://127.0.0.1:{sock.getsockname()[1]}{API_PATH}"


class FakeTelefonIP(FakeState):
    """The fake server. ``with FakeTelefonIP() as fake: fake.url, fake.token``.

    The recorded requests and calls, the tunables and the methods that read
    or change them (``reset``, ``set_fault``, ``last_code``…) come from
    :class:`~django_flashcall.testing.state.FakeState`.
    """

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
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        super().__init__(
            token,
            daily_limit=daily_limit,
            balance=balance,
            price=price,
            balance_limit=balance_limit,
            slow_seconds=slow_seconds,
        )

    def __repr__(self) -> str:  # never the token
        return f"<FakeTelefonIP {self.host}:{self.port}>"

    def start(self) -> FakeTelefonIP:
        if self._server is None:
            with self._lock:  # a stop() set the old event: "slow" must pause again
                self._wake = threading.Event()
            self._server = Server((self.host, self._requested_port), Handler, self)
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
        assert self._thread is not None  # started with the server
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
