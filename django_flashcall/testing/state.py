"""What the fake telefon-ip server remembers, and the locked operations on it.

:class:`FakeState` owns the tunables (token, daily limit, money, faults), the
requests received (:class:`RecordedRequest`), the calls placed
(:class:`IssuedCall`) and the count of connections. Every read-modify-write
takes one re-entrant lock, because handler threads and the test's thread share
the state. ``FakeTelefonIP`` is a ``FakeState`` with an HTTP server attached,
so its users read and set these attributes on the fake itself.

Underscored members are the package's internals, used by ``protocol.py`` and
``handler.py``; tests do not need them.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

__all__ = ["DEFAULT_TOKEN", "FAULTS", "FakeState", "IssuedCall", "RecordedRequest"]

DEFAULT_TOKEN = "fake-telefonip-token"  # noqa: S105  (only this fake accepts it)
FAULTS = frozenset(
    "server_error slow malformed success_false bad_code missing_code format_error drop "
    "redirect huge".split()
)
_random = random.SystemRandom()


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


class FakeState:
    """The fake's memory: tunables, recorded requests and calls, faults, money."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        daily_limit: int = 3,
        balance: float | str | Decimal = "5.0",
        price: float | str | Decimal = "0.2",
        balance_limit: float | str | Decimal = "0.0",
        slow_seconds: float = 2.0,
    ) -> None:
        self._defaults: dict[str, Any] = {
            "token": token,
            "daily_limit": daily_limit,
            "balance": Decimal(str(balance)),
            "price": Decimal(str(price)),
            "balance_limit": Decimal(str(balance_limit)),
            "slow_seconds": slow_seconds,
        }
        self._lock = threading.RLock()
        self._generation = 0  # bumped by reset(): a "slow" request from before is dropped
        self._wake = threading.Event()  # set to cut a "slow" request's pause short
        self._reset_state()

    @property
    def connections(self) -> int:
        """TCP connections accepted since start or :meth:`reset`.

        A keep-alive connection a client opened before ``reset()`` and still
        reuses is not counted again.
        """
        return self._connections

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

    # -- for the handler and the protocol ------------------------------------

    def _call(self, call_id: int) -> IssuedCall | None:
        return next((c for c in self.calls if c.id == call_id), None)

    def _connection_opened(self) -> None:
        with self._lock:
            self._connections += 1

    def _record(self, request: RecordedRequest) -> tuple[str | None, int, threading.Event, float]:
        """Remember a request and take its fault, if it is a known, authorized action.

        Returns the fault, and what a "slow" fault needs to pause: the reset
        generation, the event that cuts the pause short, and its length.
        """
        with self._lock:
            self.requests.append(request)
            faultable = request.action != "" and request.token == self.token
            fault = self._take_fault(request.action) if faultable else None
            return fault, self._generation, self._wake, self.slow_seconds

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

    def _place_call(self, phone: str, sms: bool) -> IssuedCall:
        """Issue a call to ``phone`` (provider form) and pay for it."""
        with self._lock:
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
            return call
