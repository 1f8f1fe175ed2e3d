"""uCaller v1.0 client (SPEC §8; https://developer.ucaller.ru/).

    OPTIONS = {"service_id": "...", "secret_key": "...", "url": "https://api.ucaller.ru/v1.0/"}

The site chooses the code: :meth:`UCallerProvider.send` draws 4 digits
with :mod:`secrets` and asks uCaller to call from a number ending in them.
The attempt's id is sent as ``unique``, uCaller's idempotency key: a
request repeated with the same key never places a second call.

The secret key travels in the ``Authorization: Bearer <key>.<service_id>``
header, never in a URL (urllib3 logs URLs at DEBUG, never headers).
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from .answers import amount
from .base import (
    Balance,
    BaseProvider,
    DeliveryStatus,
    InvalidPhoneForProvider,
    ProviderError,
    ProviderResult,
)
from .jsonapi import exchange

logger = logging.getLogger("django_flashcall")

DEFAULT_URL = "https://api.ucaller.ru/v1.0/"
# uCaller's error codes as an open-source client read its error page (not in
# our notes; see testing/fake_ucaller.py). What each means for us:
BAD_CREDENTIALS = {0, 4, 401, 1001, 1003, 1004, 1005}  # key, IP, blocked/archived service
NO_FUNDS = 1002
BAD_PHONE = 3
ONE_PHONE = {9, 18, 19, 20}  # the number's caps, its country
RAW_FIELDS = ("ucaller_id", "init_time", "call_status", "cost")
# 1, 2 (a malformed request: ours to fix), 5 (could not initialise), 429
# (too many requests from our IP) and unknown codes: no call, account-wide.


def choose_code() -> str:
    """4 digits, 0001-9999: uCaller's range for the digits a call ends in."""
    return f"{secrets.randbelow(9999) + 1:04d}"


class UCallerProvider(BaseProvider):
    name = "ucaller"
    secret_options = ("secret_key",)
    required_options = ("service_id", "secret_key")
    wants_context = True
    default_url = DEFAULT_URL

    def _headers(self) -> dict[str, str]:
        key = str(self.options.get("secret_key") or "").strip()
        service = str(self.options.get("service_id") or "").strip()
        if not key or not service:
            raise ProviderError("unauthorized", "the uCaller service_id or secret_key is not set")
        return {"Authorization": f"Bearer {key}.{service}"}

    # -- actions -------------------------------------------------------------

    def send(
        self,
        phone: str,
        *,
        sms_fallback: bool = False,
        client_ip: str | None = None,
        attempt_id: str | None = None,
    ) -> ProviderResult:
        code = choose_code()
        payload: dict[str, Any] = {"phone": int(phone), "code": code}
        if attempt_id:
            payload["unique"] = str(attempt_id)
        status, body = exchange(
            "POST", self._url("initCall"), json_body=payload, headers=self._headers()
        )
        if body is None:
            if status in (401, 403):
                raise ProviderError("unauthorized", f"uCaller answered HTTP {status}")
            if 400 <= status < 500:  # not its API at this URL: nothing was dialled
                raise ProviderError("rejected", f"uCaller answered HTTP {status}", no_call=True)
            raise ProviderError("bad_response", f"uCaller's answer is not JSON (HTTP {status})")
        if "error" in body:
            # The error envelope is told by its "error" key: its "code" is the
            # error's number, not a call's code.
            raise self._refusal(body)
        uid = body.get("ucaller_id")
        if body.get("status") is not True:
            if uid is not None:
                # An authorisation exists (and may be billed) but uCaller does
                # not expect it to connect: not a refusal of the account.
                raise ProviderError(
                    "rejected", "uCaller could not call this number", trips_breaker=False
                )
            raise ProviderError("bad_response", "uCaller's answer has no status")
        answered = body.get("code")
        if isinstance(answered, int) and not isinstance(answered, bool):
            answered = f"{answered:04d}"
        if isinstance(answered, str) and answered != code:
            if not (len(answered) == 4 and answered.isascii() and answered.isdigit()):
                raise ProviderError("bad_response", "uCaller's answer has a malformed code")
            # "exists": the same unique key was sent before; its call's code stands.
            code = answered
        return ProviderResult(
            code=code,
            provider_id=str(uid)[:64] if uid not in (None, "") else "",
            phone=phone,
        )

    def get_status(self, provider_id: str) -> DeliveryStatus:
        status, body = exchange(
            "GET", self._url("getInfo"), params={"uid": str(provider_id)}, headers=self._headers()
        )
        if body is None:
            raise ProviderError("bad_response", f"uCaller's getInfo is not JSON (HTTP {status})")
        if "error" in body or body.get("status") is not True:
            raise self._refusal(body, per_call=True)
        call_status = body.get("call_status")
        delivered = {1: True, 0: False}.get(call_status) if type(call_status) is int else None
        info = {1: "call placed", 0: "not connected", -1: "checking"}.get(
            call_status if type(call_status) is int else 99, ""
        )
        return DeliveryStatus(
            provider_id=str(provider_id),
            delivered=delivered,
            info=info,
            price=amount(body.get("cost")),
            raw={k: body[k] for k in RAW_FIELDS if k in body},
        )

    def get_balance(self) -> Balance:
        status, body = exchange("GET", self._url("getBalance"), headers=self._headers())
        if body is None:
            raise ProviderError("bad_response", f"uCaller's balance is not JSON (HTTP {status})")
        if "error" in body or body.get("status") is not True:
            raise self._refusal(body)
        return Balance(balance=amount(body.get("rub_balance")))

    # -- errors ----------------------------------------------------------------

    @staticmethod
    def _refusal(body: dict[str, Any], *, per_call: bool = False) -> ProviderError:
        raw = body.get("code")
        code = raw if type(raw) is int else None
        text = body.get("error")
        detail = f"uCaller {code}: {text if isinstance(text, str) else ''}"[:200]
        if code in BAD_CREDENTIALS:
            return ProviderError("unauthorized", detail)
        if code == NO_FUNDS:
            return ProviderError("no_funds", detail)
        if per_call:  # getInfo of one id ("not found"): about that id only
            return ProviderError("rejected", detail, trips_breaker=False)
        if code == BAD_PHONE:
            return InvalidPhoneForProvider(detail)
        if code in ONE_PHONE:
            return ProviderError("rejected", detail, trips_breaker=False, no_call=True)
        if code in (1, 2):
            logger.error("uCaller refused the request's form: %s", detail)
        return ProviderError("rejected", detail, no_call=True)
