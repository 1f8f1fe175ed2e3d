"""One lazy, typed settings object over the flat ``FLASHCALL_*`` settings.

Values are read from Django's settings when first used and kept until Django
announces a change, so ``override_settings`` takes effect at once and nothing
is frozen at import time. Each setting has an attribute
with its type, and :data:`RULES` says which values make sense: system check
``django_flashcall.E007`` reports any other (:func:`problems`), so a zero
limit or a string where a number belongs fails at start, not at the first
request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar, overload

from django.conf import settings as django_settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    "PROVIDER": "django_flashcall.providers.TelefonIPProvider",
    # In order of preference (SPEC §8); None: [PROVIDER]. E020-E023 check it.
    "PROVIDERS": None,
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
    # Not in the public table of SPEC §3, but documented.
    "CLIENT_IP_HEADER": None,  # e.g. "HTTP_X_REAL_IP" behind a trusted proxy
    "TRUSTED_PROXY_COUNT": 0,  # hops of X-Forwarded-For to trust
    "CACHE_ALIAS": "default",
    "LOW_BALANCE": 50.0,  # admin warns below this provider balance
    "BROWSABLE_API": None,  # DRF's HTML pages for the API; None follows DEBUG
    # {"79000000000": "1234"}: no call, a fixed code (SPEC §8); E022, W020.
    "TEST_NUMBERS": {},
    # Pumping defenses (SPEC §10, internal/abuse.py).
    "CHALLENGE": None,  # dotted path: callable(request, phone, value) -> bool
    "RANGE_DIGITS": 7,  # leading digits of 79XXXXXXXXX that make a number range
    "RANGE_RISK": 3,  # unverified calls to a range in ~24 h that raise the bar
    "NETWORK_RISK": 10,  # unverified calls from an IPv4 /24 or IPv6 /48 in ~24 h
    "RANGE_DAILY_LIMIT": None,  # calls to a range in ~24 h, challenge or not
    "CONVERSION_MIN": 0.5,  # share of the last hour's calls that must be verified...
    "CONVERSION_SAMPLE": 20,  # ...once at least this many calls were placed
    "CONVERSION_HOLD": 3600,  # seconds the bar stays raised, doubled per trip in a day
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Rule:
    """What values a setting accepts: ``check(value)`` is true for them;
    ``expected`` says so in words for the system check."""

    check: Callable[[Any], bool]
    expected: str


def _int_at_least(low: int, *, none: bool = False) -> Rule:
    words = f"a whole number ≥ {low}" + (" or None" if none else "")
    return Rule(lambda v: (none and v is None) or (_is_int(v) and v >= low), words)


def _optional_str() -> Rule:
    return Rule(lambda v: v is None or isinstance(v, str), "a string or None")


def _timeout_ok(value: object) -> bool:
    parts = value if isinstance(value, list | tuple) else (value,)
    return 1 <= len(parts) <= 2 and all(_is_number(p) and p > 0 for p in parts)


_BOOL = Rule(lambda v: isinstance(v, bool), "True or False")
_STR = Rule(lambda v: isinstance(v, str), "a string")

RULES: dict[str, Rule] = {
    "PROVIDER": _STR,
    "API_TOKEN": _optional_str(),  # empty or None: E001 when TelefonIP needs it
    "API_URL": Rule(
        lambda v: isinstance(v, str) and v.startswith(("https://", "http://")),
        "an http(s) URL",
    ),
    "TIMEOUT": Rule(_timeout_ok, "seconds > 0, or a (connect, read) pair of them"),
    "SMS_FALLBACK": _BOOL,
    "CODE_TTL": _int_at_least(1),
    "MAX_CHECKS": _int_at_least(1),
    "RESEND_COOLDOWN": _int_at_least(0),
    "PHONE_DAILY_LIMIT": _int_at_least(1),
    "PHONE_MAX_FAILURES": _int_at_least(1),
    # 0 is a kill switch: no paid call at all.
    "DAILY_BUDGET": _int_at_least(0, none=True),
    "BREAKER_THRESHOLD": _int_at_least(1),
    "BREAKER_COOLDOWN": _int_at_least(1),
    "LOGIN": _STR,
    "CREATE_USERS": _BOOL,
    "USER_PHONE_FIELD": _optional_str(),
    # Cleanup must keep the last 24 h: the limits are counted from them.
    "RETENTION_DAYS": _int_at_least(1),
    "CLIENT_IP_HEADER": _optional_str(),
    "TRUSTED_PROXY_COUNT": _int_at_least(0),
    "CACHE_ALIAS": _STR,
    "BROWSABLE_API": Rule(lambda v: v is None or isinstance(v, bool), "True, False or None"),
    # RATELIMIT_* are checked by E005/W004 and LOW_BALANCE by E006.
    "CHALLENGE": _optional_str(),  # E013 when it does not import
    "RANGE_DIGITS": Rule(lambda v: _is_int(v) and 4 <= v <= 11, "a whole number from 4 to 11"),
    "RANGE_RISK": _int_at_least(1),
    "NETWORK_RISK": _int_at_least(1),
    "RANGE_DAILY_LIMIT": _int_at_least(1, none=True),
    "CONVERSION_MIN": Rule(lambda v: _is_number(v) and 0 <= v <= 1, "a number from 0 to 1"),
    "CONVERSION_SAMPLE": _int_at_least(1),
    "CONVERSION_HOLD": _int_at_least(1),
}


T = TypeVar("T")


class _Setting(Generic[T]):
    """One typed setting of :class:`Settings`: ``flashcall_settings.CODE_TTL``
    reads ``FLASHCALL_CODE_TTL`` (through ``Settings._get``)."""

    name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type) -> _Setting[T]: ...

    @overload
    def __get__(self, obj: Settings, owner: type) -> T: ...

    def __get__(self, obj: Settings | None, owner: type) -> T | _Setting[T]:
        if obj is None:
            return self
        value: T = obj._get(self.name)
        return value


class Settings:
    """``flashcall_settings.CODE_TTL`` reads ``settings.FLASHCALL_CODE_TTL``.

    Each setting is a typed :class:`_Setting`; values are not coerced here
    (check E007 refuses a wrong one at start).
    """

    prefix = "FLASHCALL_"

    def __init__(self) -> None:
        # Values as read from django.conf.settings, dropped whenever a setting
        # changes (override_settings and pytest-django's fixture send
        # setting_changed): as exact as reading each time, without a
        # getattr miss and its AttributeError for every unset setting on
        # every use (a couple of hundred per request).
        # override_settings() also swaps the settings holder without a signal
        # when it only deletes (pytest-django's ``del settings.X``): a new
        # holder is a change too.
        self._values: dict[str, Any] = {}
        self._holder: object = None
        setting_changed.connect(self._forget, dispatch_uid="django_flashcall.conf")

    def _forget(self, *, setting: str = "", **kwargs: Any) -> None:
        self._values.clear()

    def _get(self, name: str) -> Any:
        holder = getattr(django_settings, "_wrapped", None)
        if holder is not self._holder:
            self._values.clear()
            self._holder = holder
        try:
            return self._values[name]
        except KeyError:
            value = getattr(django_settings, self.prefix + name, DEFAULTS[name])
            self._values[name] = value
            return value

    PROVIDER = _Setting[str]()
    PROVIDERS = _Setting[list[Any] | None]()
    API_TOKEN = _Setting[str]()
    API_URL = _Setting[str]()
    TIMEOUT = _Setting[float | tuple[float, float]]()
    SMS_FALLBACK = _Setting[bool]()
    CODE_TTL = _Setting[int]()
    MAX_CHECKS = _Setting[int]()
    RESEND_COOLDOWN = _Setting[int]()
    PHONE_DAILY_LIMIT = _Setting[int]()
    PHONE_MAX_FAILURES = _Setting[int]()
    DAILY_BUDGET = _Setting[int | None]()
    BREAKER_THRESHOLD = _Setting[int]()
    BREAKER_COOLDOWN = _Setting[int]()
    RATELIMIT_REQUEST = _Setting[Any]()
    RATELIMIT_CONFIRM = _Setting[Any]()
    LOGIN = _Setting[str]()
    CREATE_USERS = _Setting[bool]()
    USER_PHONE_FIELD = _Setting[str | None]()
    RETENTION_DAYS = _Setting[int]()
    CLIENT_IP_HEADER = _Setting[str | None]()
    TRUSTED_PROXY_COUNT = _Setting[int]()
    CACHE_ALIAS = _Setting[str]()
    LOW_BALANCE = _Setting[Any]()
    TEST_NUMBERS = _Setting[dict[str, str]]()
    BROWSABLE_API = _Setting[bool | None]()
    CHALLENGE = _Setting[str | None]()
    RANGE_DIGITS = _Setting[int]()
    RANGE_RISK = _Setting[int]()
    NETWORK_RISK = _Setting[int]()
    RANGE_DAILY_LIMIT = _Setting[int | None]()
    CONVERSION_MIN = _Setting[float]()
    CONVERSION_SAMPLE = _Setting[int]()
    CONVERSION_HOLD = _Setting[int]()


flashcall_settings = Settings()


def problems() -> list[tuple[str, Any, str]]:
    """``(name, value, expected)`` for every setting outside its :data:`RULES`."""
    found = []
    for name, rule in RULES.items():
        value = flashcall_settings._get(name)
        if not rule.check(value):
            found.append((name, value, rule.expected))
    return found


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
