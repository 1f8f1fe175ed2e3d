"""A fake uCaller v1.0 server on a loopback port.

Documented by uCaller (https://developer.ucaller.ru/) and spoken as documented:

- Authentication three ways: ``Authorization: Bearer <secret_key>.<service_id>``;
  ``?key=&service_id=`` on a GET; ``key``/``service_id`` in a JSON body.
  POST bodies are JSON.
- ``initCall`` (``phone``, optional ``code`` chosen by the site, ``client``,
  ``unique``) → ``{"status": true, "ucaller_id": 103000, "phone": "79...",
  "code": "7777", "client": "...", "unique_request_id": "..."}``; a
  ``unique`` key seen before places no call and answers the first call
  again with ``"exists": true``.
- ``getInfo?uid=<ucaller_id>`` → ``call_status`` (-1 checking, 0 not
  connected, 1 placed), ``cost``, ``balance`` (before the charge)...
- ``getBalance`` → ``{"status": true, "rub_balance": 84.6, "bonus_balance": 0,
  "tariff": "startup", "tariff_name": "..."}``.
- Test numbers: 79000000001 always succeeds, 79000000002 always fails.
- An error: ``{"status": false, "error": "<text>", "code": <n>}``.

ASSUMPTIONS (the error page is not in our notes; the numbers come from an
open-source client's reading of it, the texts are ours):

- Errors answer HTTP 200. Codes: 401 bad key or service id, 1002 no
  funds, 3 bad phone, 2 a bad parameter (``code`` not 4 digits), 18 the
  number's cap (``minute_limit`` per minute, ``daily_limit`` per day), 19
  the same number again within ``repeat_wait`` seconds, 10 unknown
  ``uid``, 4 service disabled (``service_disabled``).
- 79000000002's failure has uCaller's observed shape: ``status: false``
  with an id and no ``error`` (an authorisation exists, it did not connect).
- Test numbers cost nothing; ``exists`` is absent on a first call.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .fake_base import Answer, FakeRequest, LoopbackFake, _random

__all__ = ["DEFAULT_SECRET_KEY", "DEFAULT_SERVICE_ID", "FakeUCaller"]

DEFAULT_SERVICE_ID = "123456"
DEFAULT_SECRET_KEY = "FakeUCallerSecretKey0123456789ab"  # noqa: S105  32 chars, fake only
ALWAYS_OK, ALWAYS_FAILS = "79000000001", "79000000002"
ERRORS = {
    2: "Parameter code is invalid",
    3: "Invalid phone number",
    4: "Service is disabled",
    10: "Authorization with this uCaller ID not found",
    18: "Limit of calls to this phone number exceeded",
    19: "Wait 15 seconds before calling this number again",
    401: "Invalid secret key or service ID",
    1002: "Insufficient funds",
}
_PHONE = re.compile(r"^7\d{10}$")
_CODE = re.compile(r"^\d{4}$")


def error(code: int) -> dict[str, Any]:
    return {"status": False, "error": ERRORS[code], "code": code}


class FakeUCaller(LoopbackFake):
    """``with FakeUCaller() as fake:`` then OPTIONS ``service_id``, ``secret_key``, ``url``."""

    url_path = "/v1.0/"
    server_version = "FakeUCaller/1.0"

    def __init__(
        self,
        service_id: str = DEFAULT_SERVICE_ID,
        secret_key: str = DEFAULT_SECRET_KEY,
        *,
        balance: float | str = "100.0",
        cost: float | str = "0.3",
        minute_limit: int = 4,
        daily_limit: int = 30,
        repeat_wait: float = 15.0,
        **kwargs: Any,
    ) -> None:
        self._defaults: dict[str, Any] = {
            "service_id": service_id,
            "secret_key": secret_key,
            "balance": Decimal(str(balance)),
            "cost": Decimal(str(cost)),
            "minute_limit": minute_limit,
            "daily_limit": daily_limit,
            "repeat_wait": repeat_wait,
        }
        self._reset_tunables()
        super().__init__(**kwargs)

    def __repr__(self) -> str:  # never the key
        return f"<FakeUCaller {self.host}:{self.port}>"

    def _reset_tunables(self) -> None:
        d = self._defaults
        self.service_id: str = d["service_id"]
        self.secret_key: str = d["secret_key"]
        self.balance: Decimal = d["balance"]
        self.cost: Decimal = d["cost"]
        self.minute_limit: int = d["minute_limit"]
        self.daily_limit: int = d["daily_limit"]
        self.repeat_wait: float = d["repeat_wait"]
        self.service_disabled = False
        self.deliver_calls = True  # getInfo's call_status of new calls: 1, else 0
        self._next_id = 103000
        self._by_unique: dict[str, dict[str, Any]] = {}

    def provider_entry(self, name: str = "") -> dict[str, Any]:
        """A ``FLASHCALL_PROVIDERS`` entry for the real client, pointed at this fake."""
        options = {"service_id": self.service_id, "secret_key": self.secret_key, "url": self.url}
        entry: dict[str, Any] = {
            "BACKEND": "django_flashcall.providers.UCallerProvider",
            "OPTIONS": options,
        }
        return {**entry, "NAME": name} if name else entry

    # -- credentials -------------------------------------------------------------

    def authorized(self, request: FakeRequest) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            key, _, service = header[len("Bearer ") :].rpartition(".")
            return key == self.secret_key and service == self.service_id
        return request.field("key") == self.secret_key and (
            request.field("service_id") == self.service_id
        )

    def is_call(self, request: FakeRequest) -> bool:
        return request.action == "initCall"

    # -- answers -------------------------------------------------------------------

    def answer(self, request: FakeRequest) -> Answer:
        action = request.action
        if action not in {"initCall", "getInfo", "getBalance"}:
            return 404, {"status": False, "error": "Method not found", "code": 404}
        if not self.authorized(request):
            return 200, error(401)
        if action == "getBalance":
            return 200, {
                "status": True,
                "rub_balance": float(self.balance),
                "bonus_balance": 0,
                "tariff": "startup",
                "tariff_name": "Старт-ап",
            }
        if action == "getInfo":
            return 200, self._info(request.field("uid"))
        return 200, self._init_call(request)

    def _init_call(self, request: FakeRequest) -> dict[str, Any]:
        phone = request.field("phone")
        code = request.field("code").strip('"')
        unique = request.field("unique")
        if not _PHONE.match(phone):
            return error(3)
        if code and not _CODE.match(code):
            return error(2)
        if unique and unique in self._by_unique:
            return {**self._by_unique[unique], "exists": True}
        if self.service_disabled:
            return error(4)
        code = code or f"{_random.randrange(1, 10000):04d}"
        test_number = phone in {ALWAYS_OK, ALWAYS_FAILS}
        if not test_number:
            mine = [c for c in self.calls if c.phone == phone]
            now = request.time
            if mine and now - mine[-1].created_at.timestamp() < self.repeat_wait:
                return error(19)
            recent = sum(1 for c in mine if now - c.created_at.timestamp() < 60)
            if recent >= self.minute_limit or len(mine) >= self.daily_limit:
                return error(18)
            if self.balance < self.cost:
                return error(1002)
        cost = Decimal(0) if test_number else self.cost
        self.balance -= cost
        uid = self._next_id
        self._next_id += 1
        call = self._new_call(phone, code, str(uid), float(cost), unique=unique)
        if phone == ALWAYS_FAILS:
            call.delivered = False
            # Observed shape: an authorisation exists, but it did not connect.
            return {"status": False, "ucaller_id": uid, "phone": "7900***0002", "code": code}
        call.delivered = self.deliver_calls
        answer: dict[str, Any] = {
            "status": True,
            "ucaller_id": uid,
            "phone": phone,
            "code": code,
        }
        if request.field("client"):
            answer["client"] = request.field("client")
        if unique:
            answer["unique_request_id"] = unique
            self._by_unique[unique] = answer
        return answer

    def _info(self, uid: str) -> dict[str, Any]:
        call = next((c for c in self.calls if c.id == uid), None)
        if call is None:
            return error(10)
        status = {True: 1, False: 0, None: -1}[call.delivered]
        return {
            "status": True,
            "ucaller_id": int(call.id),
            "init_time": int(call.created_at.timestamp()),
            "call_status": status,
            "is_repeated": False,
            "repeatable": False,
            "unique": call.unique,
            "phone": call.phone,
            "code": call.code,
            "country_code": "RU",
            "phone_info": [],
            "cost": call.cost,
            "balance": float(self.balance) + call.cost,  # before this call's charge
        }

    def set_status(self, uid: str | int, delivered: bool | None) -> None:
        """What ``getInfo`` will say of one call (None: still checking, -1)."""
        with self._lock:
            for call in self.calls:
                if call.id == str(uid):
                    call.delivered = delivered
                    return
        raise KeyError(uid)
