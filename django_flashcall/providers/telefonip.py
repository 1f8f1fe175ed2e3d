"""telefon-ip.ru "authcalls" client (SPEC §1).

Safety rules, each deliberate:

- The token sits in the URL path. No exception we raise, no log line and no
  stored error carries a requests/urllib3 exception or URL: we describe the
  failure in our own words and raise *outside* the ``except`` block, so not
  even ``__context__`` holds the original (its message names the URL).
- ``get_code`` is never retried once the request may have been sent: a read
  timeout may mean the call was placed and paid for. Only a refused or
  timed-out *connection* is retried (urllib3 ``connect`` retries).
- Transport (timeouts, no redirects, TLS, the connection pool, retrying
  only a connection never made) is :mod:`.transport`'s.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from ..conf import flashcall_settings
from ..phone import to_provider
from . import transport
from .answers import amount, call_id, flag, no_funds, one_phone
from .base import (
    Balance,
    BaseProvider,
    DeliveryStatus,
    InvalidPhoneForProvider,
    ProviderError,
    ProviderResult,
    redact,
)
from .jsonapi import read_json

logger = logging.getLogger("django_flashcall")


class TelefonIPProvider(BaseProvider):
    """Options (all optional): ``token`` and ``url``, else
    ``FLASHCALL_API_TOKEN`` and ``FLASHCALL_API_URL``, read at each call."""

    name = "telefon-ip"
    secret_options = ("token",)

    def __repr__(self) -> str:  # never the token
        return "<TelefonIPProvider>"

    # -- transport ---------------------------------------------------------

    def _url(self, *parts: str) -> str:
        options = getattr(self, "options", {})
        token = str(options.get("token") or flashcall_settings.API_TOKEN or "")
        if not token:
            raise ProviderError("unauthorized", "FLASHCALL_API_TOKEN is not set")
        base = str(options.get("url") or flashcall_settings.API_URL)
        if not base.endswith("/"):
            base += "/"
        return base + "/".join(quote(p, safe="") for p in (token, *parts)) + "/"

    def _get(self, url: str, params: dict[str, str] | None = None) -> tuple[int, Any]:
        """GET and decode JSON; every transport failure becomes a ProviderError."""
        status, body = read_json(transport.fetch(url, params))
        if status == 401:
            raise ProviderError("unauthorized", "the provider rejected the API token (401)")
        if not isinstance(body, dict):
            if 400 <= status < 500:
                # An error status speaks for itself, whatever the body (its
                # shape is not documented): the caller decides by the status.
                return status, {}
            raise ProviderError(
                "bad_response", f"the provider's answer is not JSON (HTTP {status})"
            )
        return status, body

    def _check_success(self, action: str, body: dict[str, Any]) -> None:
        """get_status / get_balance: a 200 with ``success: false`` is a refusal."""
        if flag(body.get("success")) is False:
            error = self._error_text(body)
            reason = "unauthorized" if "token" in error.lower() else "rejected"
            raise ProviderError(reason, f"{action} refused: {error or 'success is false'}")

    @staticmethod
    def _refusal(message: str, error: str) -> ProviderError:
        """A get_code refusal (no code came back, so no call was placed)."""
        if no_funds(error):
            return ProviderError("no_funds", message)
        return ProviderError("rejected", message, trips_breaker=not one_phone(error), no_call=True)

    @staticmethod
    def _error_text(body: dict[str, Any]) -> str:
        error = body.get("error")
        text = error if isinstance(error, str) else ""
        return redact(text)[:200]

    def _send_refused(self, status: int, error: str) -> ProviderError:
        """get_code answered with an error or ``success: false``."""
        if status == 400:
            # Documented: "phone does not match the format ... or phone field
            # is missing". Anything else (a per-phone cap?) is a refusal.
            if "format" in error.lower() or "missing" in error.lower():
                return InvalidPhoneForProvider(f"provider 400: {error}")
            return self._refusal(f"provider 400: {error}", error)
        if 400 <= status < 500:
            # Refused before anything was done (not found, forbidden, too
            # many requests): nothing dialled, so the next provider may be asked.
            return ProviderError("rejected", f"provider HTTP {status}: {error}", no_call=True)
        if status != 200:
            # A redirect, a 5xx, an odd 2xx: sent, maybe dialled.
            return ProviderError("bad_response", f"provider HTTP {status}: {error}")
        # Refusals of one phone (its daily cap at the provider, its format)
        # say nothing of the provider's health: they must not let one
        # capped phone open the circuit breaker for everybody.
        return self._refusal(f"provider refused: {error or 'success is false'}", error)

    # -- actions -------------------------------------------------------------

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        params = {"sms": "true"} if sms_fallback else None
        status, body = self._get(self._url("get_code", to_provider(phone)), params)
        success = flag(body.get("success"))
        if status != 200 or success is False:
            raise self._send_refused(status, self._error_text(body))
        data = body.get("data")
        code = data.get("code") if isinstance(data, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            code = f"{code:04d}"
        if not (isinstance(code, str) and len(code) == 4 and code.isascii() and code.isdigit()):
            raise ProviderError("bad_response", "the provider's answer has no 4-digit code")
        if success is not True:
            # A code but no clear "success": the call was likely placed and
            # billed, so this is not a refusal (it counts against the limits).
            raise ProviderError("bad_response", "the provider's answer has no success flag")
        return ProviderResult(code=code, provider_id=call_id(data.get("id")), phone=phone)

    def get_status(self, provider_id: str) -> DeliveryStatus:
        status, body = self._get(self._url("get_status", str(provider_id)))
        if status != 200:
            raise ProviderError("rejected", f"get_status HTTP {status}: {self._error_text(body)}")
        self._check_success("get_status", body)
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        info = data.get("status_info")
        return DeliveryStatus(
            provider_id=str(provider_id),
            delivered=flag(data.get("status")),
            info=redact(info)[:255] if isinstance(info, str) else "",
            price=amount(data.get("price")),
            raw={k: v for k, v in data.items() if k in {"id", "created_at", "status", "price"}},
        )

    def get_balance(self) -> Balance:
        status, body = self._get(self._url("get_balance"))
        if status != 200:
            raise ProviderError("rejected", f"get_balance HTTP {status}: {self._error_text(body)}")
        self._check_success("get_balance", body)
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        return Balance(
            balance=amount(data.get("balance")),
            price=amount(data.get("price")),
            balance_limit=amount(data.get("balance_limit")),
        )
