"""The provider contract, and the guard that keeps the token out of logs."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

logger = logging.getLogger("django_flashcall")


@dataclass(frozen=True)
class ProviderResult:
    """A call was placed. ``code`` is the 4 digits the user will see."""

    code: str
    provider_id: str = ""
    channel: str = "call"
    phone: str = ""


@dataclass(frozen=True)
class DeliveryStatus:
    provider_id: str
    delivered: bool | None
    info: str = ""
    price: Decimal | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class Balance:
    balance: Decimal | None
    price: Decimal | None = None
    balance_limit: Decimal | None = None


class ProviderError(Exception):
    """The provider did not place a call, or we cannot tell that it did.

    ``reason`` is one of :class:`~django_flashcall.models.Reason`'s values.
    ``trips_breaker`` says whether it counts as a provider failure for the
    circuit breaker (a refusal of one phone does not). The message never
    holds the token: providers build it from their own words only.
    """

    def __init__(self, reason: str, message: str = "", *, trips_breaker: bool = True) -> None:
        self.reason = reason
        self.message = message or reason
        self.trips_breaker = trips_breaker
        super().__init__(self.message)


class InvalidPhoneForProvider(ProviderError):
    """The provider rejected the phone's format (its 400)."""

    def __init__(self, message: str = "") -> None:
        super().__init__("rejected", message, trips_breaker=False)


class BaseProvider:
    """Subclass and implement :meth:`send`; the rest is optional."""

    #: Whether :meth:`send` spends money; the sandbox says False.
    is_paid = True

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        """Place a call to ``phone`` (stored form ``79XXXXXXXXX``).

        Raise :class:`ProviderError` on any failure. Never retry once the
        request may have reached the provider: a retry is a second paid call.
        """
        raise NotImplementedError

    def get_status(self, provider_id: str) -> DeliveryStatus:
        raise NotImplementedError

    def get_balance(self) -> Balance:
        raise NotImplementedError


class _RedactSecrets(logging.Filter):
    """Rewrite any record whose text holds the provider token.

    urllib3 logs every request line ("GET /api/v1/authcalls/<token>/...") at
    DEBUG on ``urllib3.connectionpool``; a site that turns DEBUG logging on
    would otherwise write the token to its logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        from ..conf import flashcall_settings

        token = flashcall_settings.API_TOKEN
        if not token:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        redacted = redact(text, token)
        if redacted != text:
            record.msg = redacted
            record.args = ()
        return True


_FILTER = _RedactSecrets()
# A logger's filters do not see records from its children: name each one.
_GUARDED_LOGGERS = (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.poolmanager",
    "urllib3.util.retry",
    "requests",
    "django_flashcall",
)


def redact(text: str, token: str | None = None) -> str:
    if token is None:
        from ..conf import flashcall_settings

        token = flashcall_settings.API_TOKEN
    if token:
        # The URL carries the token percent-encoded: hide that spelling too.
        for spelling in {token, quote(token, safe="")}:
            text = text.replace(spelling, "<token>")
    return text


def install_log_redaction() -> None:
    for name in _GUARDED_LOGGERS:
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)
