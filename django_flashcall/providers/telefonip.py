"""telefon-ip.ru "authcalls" client (SPEC §1).

Safety rules, each deliberate:

- The token sits in the URL path. No exception we raise, no log line and no
  stored error carries a requests/urllib3 exception or URL: we describe the
  failure in our own words and raise *outside* the ``except`` block, so not
  even ``__context__`` holds the original (its message names the URL).
- ``get_code`` is never retried once the request may have been sent: a read
  timeout may mean the call was placed and paid for. Only a refused or
  timed-out *connection* is retried (urllib3 ``connect`` retries).
- No redirects are followed; TLS is verified; timeouts always apply.
- One ``requests.Session`` per process keeps connections alive; cookies are
  refused so concurrent threads share no mutable state but the pool.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.retry import Retry

from ..conf import flashcall_settings
from ..phone import to_provider
from .answers import amount, call_id, flag, one_phone
from .base import (
    Balance,
    BaseProvider,
    DeliveryStatus,
    InvalidPhoneForProvider,
    ProviderError,
    ProviderResult,
    redact,
)

logger = logging.getLogger("django_flashcall")

MAX_BODY = 64 * 1024  # a real answer is ~100 bytes

_session: requests.Session | None = None
_session_pid: int | None = None
_session_lock = threading.Lock()


def make_session() -> requests.Session:
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.trust_env = False  # no proxies or netrc picked up from the environment
    retry = Retry(
        total=None,
        connect=2,  # refused / unreachable: the request never left, safe to retry
        read=False,  # sent: never retry, it may be a paid call (and keep ReadTimeout)
        status=0,
        other=0,
        redirect=0,
        raise_on_redirect=False,
        raise_on_status=False,
        backoff_factor=0.05,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=32)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def get_session() -> requests.Session:
    """The process's shared session (made anew after a fork)."""
    global _session, _session_pid
    pid = os.getpid()
    if _session is None or _session_pid != pid:
        with _session_lock:
            if _session is None or _session_pid != pid:
                _session, _session_pid = make_session(), pid
    return _session


def _connection_failure(exc: requests.exceptions.ConnectionError) -> ProviderError:
    """Tell "never sent" (safe, retried already) from "sent, answer lost"
    (maybe a paid call) by the exception types, never by their text."""
    inner = exc.args[0] if exc.args else None
    cause = getattr(inner, "reason", inner)
    if isinstance(cause, NewConnectionError | ConnectTimeoutError):
        return ProviderError("connection", "the provider could not be reached")
    return ProviderError("timeout", "the provider closed the connection without an answer")


class TelefonIPProvider(BaseProvider):
    def __repr__(self) -> str:  # never the token
        return "<TelefonIPProvider>"

    # -- transport ---------------------------------------------------------

    def _url(self, *parts: str) -> str:
        token = flashcall_settings.API_TOKEN
        if not token:
            raise ProviderError("unauthorized", "FLASHCALL_API_TOKEN is not set")
        base = flashcall_settings.API_URL
        if not base.endswith("/"):
            base += "/"
        return base + "/".join(quote(p, safe="") for p in (token, *parts)) + "/"

    def _get(self, url: str, params: dict[str, str] | None = None) -> tuple[int, Any]:
        """GET and decode JSON; every transport failure becomes a ProviderError."""
        failure: ProviderError | None = None
        try:
            response = get_session().get(
                url,
                params=params,
                timeout=flashcall_settings.TIMEOUT,
                allow_redirects=False,
                verify=True,
                stream=True,
            )
        except requests.exceptions.ConnectTimeout:
            failure = ProviderError("connection", "connection to the provider timed out")
        except requests.exceptions.ReadTimeout:
            failure = ProviderError("timeout", "the provider did not answer in time")
        except requests.exceptions.SSLError:
            failure = ProviderError("connection", "TLS verification of the provider failed")
        except requests.exceptions.ConnectionError as exc:
            failure = _connection_failure(exc)
        except requests.exceptions.RequestException as exc:
            failure = ProviderError("connection", f"request failed ({type(exc).__name__})")
        if failure is not None:
            raise failure  # outside the except block: no chained exception with the URL
        return self._decode(response)

    def _decode(self, response: requests.Response) -> tuple[int, Any]:
        status = response.status_code
        failure: ProviderError | None = None
        body: Any = None
        try:
            raw = response.raw.read(MAX_BODY + 1, decode_content=True)
        except Exception:  # a dropped body; describe it in our words
            raw = None
            failure = ProviderError("timeout", "the provider's answer was cut off")
        finally:
            response.close()
        if failure is not None:
            raise failure
        if 300 <= status < 400:
            raise ProviderError("bad_response", f"the provider answered a redirect ({status})")
        if status >= 500:
            raise ProviderError("server_error", f"the provider answered HTTP {status}")
        if raw is None or len(raw) > MAX_BODY:
            raise ProviderError("bad_response", "the provider's answer is too large")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
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
    def _error_text(body: dict[str, Any]) -> str:
        error = body.get("error")
        text = error if isinstance(error, str) else ""
        return redact(text)[:200]

    # -- actions -------------------------------------------------------------

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        params = {"sms": "true"} if sms_fallback else None
        status, body = self._get(self._url("get_code", to_provider(phone)), params)
        error = self._error_text(body)
        if status == 400:
            # Documented: "phone does not match the format ... or phone field
            # is missing". Anything else (a per-phone cap?) is a refusal.
            if "format" in error.lower() or "missing" in error.lower():
                raise InvalidPhoneForProvider(f"provider 400: {error}")
            raise ProviderError(
                "rejected", f"provider 400: {error}", trips_breaker=not one_phone(error)
            )
        if status != 200:
            raise ProviderError("bad_response", f"provider HTTP {status}: {error}")
        success = flag(body.get("success"))
        if success is False:
            # Refusals of one phone (its daily cap at the provider, its format)
            # say nothing of the provider's health: they must not let one
            # capped phone open the circuit breaker for everybody.
            raise ProviderError(
                "rejected",
                f"provider refused: {error or 'success is false'}",
                trips_breaker=not one_phone(error),
            )
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
