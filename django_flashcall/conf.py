"""One lazy settings object over the flat ``FLASHCALL_*`` settings.

Values are looked up on every access, so ``override_settings`` takes effect
at once and nothing is frozen at import time.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings

DEFAULTS: dict[str, Any] = {
    "PROVIDER": "django_flashcall.providers.TelefonIPProvider",
    "API_TOKEN": "",
    "API_URL": "https://api.telefon-ip.ru/api/v1/authcalls/",
    "TIMEOUT": (3.05, 15),
    "SMS_FALLBACK": False,
    "CODE_TTL": 300,
    "MAX_CHECKS": 3,
    "RESEND_COOLDOWN": 60,
    "PHONE_DAILY_LIMIT": 3,
    "PHONE_MAX_FAILURES": 10,
    "DAILY_BUDGET": None,
    "BREAKER_THRESHOLD": 5,
    "BREAKER_COOLDOWN": 60,
    "RATELIMIT_REQUEST": "10/h",
    "RATELIMIT_CONFIRM": "30/h",
    "LOGIN": "session",
    "CREATE_USERS": True,
    "USER_PHONE_FIELD": None,
    "RETENTION_DAYS": 30,
    # Not in the public table of SPEC §3, but documented in the README.
    "CLIENT_IP_HEADER": None,  # e.g. "HTTP_X_REAL_IP" behind a trusted proxy
    "TRUSTED_PROXY_COUNT": 0,  # hops of X-Forwarded-For to trust
    "CACHE_ALIAS": "default",
    "LOW_BALANCE": 50.0,  # admin warns below this provider balance
    "BROWSABLE_API": None,  # DRF's HTML pages for the API; None follows DEBUG
}


class Settings:
    """``flashcall_settings.CODE_TTL`` reads ``settings.FLASHCALL_CODE_TTL``."""

    prefix = "FLASHCALL_"

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(name)
        return getattr(django_settings, self.prefix + name, DEFAULTS[name])


flashcall_settings = Settings()


def timeout_total() -> float:
    """The longest a provider request may take: connect + read timeouts."""
    timeout = flashcall_settings.TIMEOUT
    parts = timeout if isinstance(timeout, list | tuple) else (timeout,)
    return float(sum(p for p in parts if p is not None)) or 30.0


def low_balance() -> Decimal | None:
    """``FLASHCALL_LOW_BALANCE`` as a Decimal; None if unset or not a number
    (system check E006 reports that)."""
    value = flashcall_settings.LOW_BALANCE
    if value is None or isinstance(value, bool):
        return None
    try:
        low = Decimal(str(value))
    except ArithmeticError:
        return None
    return low if low.is_finite() else None
