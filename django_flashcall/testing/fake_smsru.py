"""A fake sms.ru "code/call" server on a loopback port.

Documented by sms.ru (https://sms.ru/api/code_call) and spoken as documented:

- ``GET|POST /code/call?phone=79XXXXXXXXX&ip=<client IP or -1>&api_id=<key>``
  → ``{"status": "OK", "code": "1435", "call_id": "000000-10000000",
  "cost": 0.4, "balance": 4122.56}``; the code is the last 4 digits of the
  number that calls. 0.40 RUB per call to a Russian number.
- ``GET|POST /my/balance?api_id=<key>&json=1`` → ``{"status": "OK",
  "status_code": 100, "balance": 4122.56}``.

ASSUMPTIONS (not in sms.ru's code/call page; taken from its general error
table and from open-source clients, so a test that relies on them tests
this fake's reading, not sms.ru):

- An error is HTTP 200 with ``{"status": "ERROR", "status_code": <n>,
  "status_text": "<text>"}``; the texts below are ours.
- Codes: 200 wrong ``api_id``, 201 no funds, 202 bad phone number, 220
  service unavailable, 230 the number's daily cap (``daily_limit``), 231
  the number's per-minute cap (``minute_limit``), 233 anti-fraud on
  repeated code requests (``fraud_phones``).
- ``/my/balance`` without ``json=1`` answers plain text ``100\\n<balance>``.
- ``ip`` is recorded, not checked.

Faults: see :mod:`django_flashcall.testing.fake_base` (``refuse``,
``timeout``, ``server_error``, ``drop``, ``malformed``).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .fake_base import Answer, FakeCall, FakeRequest, LoopbackFake, _random

__all__ = ["DEFAULT_API_ID", "FakeSMSRu"]

DEFAULT_API_ID = "FAKE-SMSRU-API-ID-0000"  # only this fake accepts it
ERRORS = {
    200: "Неправильный api_id",
    201: "Не хватает средств на лицевом счету",
    202: "Неправильно указан номер телефона получателя, либо на него нет маршрута",
    220: "Сервис временно недоступен, попробуйте чуть позже",
    230: "Превышен общий лимит количества звонков на этот номер в день",
    231: "Превышен лимит одинаковых запросов на этот номер в минуту",
    233: "Превышен лимит запросов кода на этот номер (антифрод)",
}
_PHONE = re.compile(r"^7\d{10}$")


def error(code: int) -> dict[str, Any]:
    return {"status": "ERROR", "status_code": code, "status_text": ERRORS[code]}


class FakeSMSRu(LoopbackFake):
    """``with FakeSMSRu() as fake:`` then ``OPTIONS = {"api_id": fake.api_id, "url": fake.url}``."""

    server_version = "FakeSMSRu/1.0"

    def __init__(
        self,
        api_id: str = DEFAULT_API_ID,
        *,
        balance: float | str = "100.0",
        cost: float | str = "0.4",
        daily_limit: int = 5,
        minute_limit: int = 1,
        **kwargs: Any,
    ) -> None:
        self._defaults: dict[str, Any] = {
            "api_id": api_id,
            "balance": Decimal(str(balance)),
            "cost": Decimal(str(cost)),
            "daily_limit": daily_limit,
            "minute_limit": minute_limit,
        }
        self._reset_tunables()
        super().__init__(**kwargs)

    def __repr__(self) -> str:  # never the api_id
        return f"<FakeSMSRu {self.host}:{self.port}>"

    def _reset_tunables(self) -> None:
        d = self._defaults
        self.api_id: str = d["api_id"]
        self.balance: Decimal = d["balance"]
        self.cost: Decimal = d["cost"]
        self.daily_limit: int = d["daily_limit"]
        self.minute_limit: int = d["minute_limit"]
        self.service_unavailable = False  # every call answers 220
        self.fraud_phones: set[str] = set()  # these numbers answer 233
        self._next_id = 1

    def provider_entry(self, name: str = "") -> dict[str, Any]:
        """A ``FLASHCALL_PROVIDERS`` entry for the real client, pointed at this fake."""
        entry: dict[str, Any] = {
            "BACKEND": "django_flashcall.providers.SMSRuProvider",
            "OPTIONS": {"api_id": self.api_id, "url": self.url},
        }
        return {**entry, "NAME": name} if name else entry

    def authorized(self, request: FakeRequest) -> bool:
        return request.field("api_id") == self.api_id

    def is_call(self, request: FakeRequest) -> bool:
        return request.path.rstrip("/").endswith("/code/call")

    def answer(self, request: FakeRequest) -> Answer:
        path = request.path.rstrip("/")
        if path.endswith("/code/call"):
            if not self.authorized(request):
                return 200, error(200)
            return 200, self._call(request)
        if path.endswith("/my/balance"):
            if not self.authorized(request):
                return 200, error(200)
            if request.field("json") != "1":
                return 200, f"100\n{self.balance}".encode()
            return 200, {"status": "OK", "status_code": 100, "balance": float(self.balance)}
        return 404, b"Not Found"

    def _call(self, request: FakeRequest) -> dict[str, Any]:
        phone = request.field("phone")
        if not _PHONE.match(phone):
            return error(202)
        if self.service_unavailable:
            return error(220)
        if phone in self.fraud_phones:
            return error(233)
        mine = [c for c in self.calls if c.phone == phone]
        now = request.time
        if sum(1 for c in mine if now - c.created_at.timestamp() < 60) >= self.minute_limit:
            return error(231)
        if len(mine) >= self.daily_limit:
            return error(230)
        if self.balance < self.cost:
            return error(201)
        self.balance -= self.cost
        number = self._next_id
        self._next_id += 1
        code = f"{_random.randrange(10000):04d}"
        call: FakeCall = self._new_call(
            phone,
            code,
            f"{number:06d}-{10000000 + number}",
            float(self.cost),
            client_ip=request.field("ip"),
        )
        return {
            "status": "OK",
            "code": call.code,
            "call_id": call.id,
            "cost": float(self.cost),
            "balance": float(self.balance),
        }
