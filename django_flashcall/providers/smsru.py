"""sms.ru "code/call" client (SPEC §8; https://sms.ru/api/code_call).

    OPTIONS = {"api_id": "...", "url": "https://sms.ru/"}

sms.ru calls the user from a number whose last 4 digits it tells us, and
answers the call's cost and the balance left with every call: the price is
stored at once, and there is no delivery-status action to ask later.

The ``api_id`` goes in a POST form body, never in the URL, so not even
urllib3's DEBUG request lines carry it; the log filter redacts it anyway.
The transport rules are every provider's (``transport.py``, ``jsonapi.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from .answers import amount
from .base import Balance, BaseProvider, InvalidPhoneForProvider, ProviderError, ProviderResult
from .jsonapi import exchange

logger = logging.getLogger("django_flashcall")

DEFAULT_URL = "https://sms.ru/"
# sms.ru's error codes (its general table; the code/call page shows only the
# success): what each one means for us. Unknown codes are a refusal of the
# account that placed no call.
BAD_CREDENTIALS = {200, 300, 301, 302}  # wrong api_id; expired token; bad login
NO_FUNDS = 201
BAD_PHONE = 202
# The number's own caps and anti-fraud (230-233) and the end user's IP or
# country limits (501-504): about one request, not the account.
ONE_PHONE = {230, 231, 232, 233, 501, 502, 503, 504}
SERVER_ERROR = 500  # "server error, repeat the request": we cannot tell if it dialled


class SMSRuProvider(BaseProvider):
    name = "sms.ru"
    secret_options = ("api_id",)
    required_options = ("api_id",)
    wants_context = True
    default_url = DEFAULT_URL

    def _api_id(self) -> str:
        api_id = str(self.options.get("api_id") or "")
        if not api_id:
            raise ProviderError("unauthorized", "the sms.ru api_id is not set")
        return api_id

    # -- actions -------------------------------------------------------------

    def send(
        self,
        phone: str,
        *,
        sms_fallback: bool = False,
        client_ip: str | None = None,
        attempt_id: str | None = None,
    ) -> ProviderResult:
        # sms.ru's anti-fraud reads the end user's IP; "-1" is its "unknown".
        form = {"phone": phone, "ip": client_ip or "-1", "api_id": self._api_id()}
        status, body = exchange("POST", self._url("code/call"), data=form)
        if body is None:
            if status in (401, 403):
                raise ProviderError("unauthorized", f"sms.ru answered HTTP {status}")
            if 400 <= status < 500:  # not its API at this URL: nothing was dialled
                raise ProviderError("rejected", f"sms.ru answered HTTP {status}", no_call=True)
            raise ProviderError("bad_response", f"sms.ru's answer is not JSON (HTTP {status})")
        if body.get("status") == "ERROR" or (400 <= status < 500):
            raise self._refusal(body)
        code = body.get("code")
        if isinstance(code, int) and not isinstance(code, bool):
            code = f"{code:04d}"
        if not (isinstance(code, str) and len(code) == 4 and code.isascii() and code.isdigit()):
            # "OK" or not, an answer without a code may come with a placed call.
            raise ProviderError("bad_response", "sms.ru's answer has no 4-digit code")
        if body.get("status") != "OK":
            raise ProviderError("bad_response", "sms.ru's answer has a code but no OK status")
        call_id = body.get("call_id")
        return ProviderResult(
            code=code,
            provider_id=str(call_id)[:64] if call_id not in (None, "") else "",
            phone=phone,
            price=amount(body.get("cost")),
        )

    def get_balance(self) -> Balance:
        form = {"api_id": self._api_id(), "json": "1"}
        status, body = exchange("POST", self._url("my/balance"), data=form)
        if body is None:
            raise ProviderError("bad_response", f"sms.ru's balance is not JSON (HTTP {status})")
        if body.get("status") != "OK":
            raise self._refusal(body)
        return Balance(balance=amount(body.get("balance")))

    # -- errors ----------------------------------------------------------------

    @staticmethod
    def _refusal(body: dict[str, Any]) -> ProviderError:
        raw = body.get("status_code")
        code: int | None = None
        if isinstance(raw, int | str) and not isinstance(raw, bool):
            try:
                code = int(raw)
            except ValueError:
                code = None
        text = body.get("status_text")
        detail = f"sms.ru {code}: {text if isinstance(text, str) else ''}"[:200]
        if code in BAD_CREDENTIALS:
            return ProviderError("unauthorized", detail)
        if code == NO_FUNDS:
            return ProviderError("no_funds", detail, no_call=True)
        if code == BAD_PHONE:
            return InvalidPhoneForProvider(detail)
        if code in ONE_PHONE:
            return ProviderError("rejected", detail, trips_breaker=False, no_call=True)
        if code == SERVER_ERROR:
            return ProviderError("server_error", detail)
        # 220 "service unavailable" and anything undocumented: sms.ru said
        # ERROR, so no call; but it is the account's problem, not one phone's.
        return ProviderError("rejected", detail, no_call=True)
