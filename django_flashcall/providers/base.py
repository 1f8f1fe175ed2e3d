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
    #: What the call cost, when the provider says so with the call (sms.ru).
    price: Decimal | None = None


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


# Reasons that say the provider surely placed no call: the connection was
# refused, the credentials or the account's money were refused.
NO_CALL_REASONS = frozenset({"connection", "unauthorized", "no_funds"})


class ProviderError(Exception):
    """The provider did not place a call, or we cannot tell that it did.

    ``reason`` is one of :class:`~django_flashcall.models.Reason`'s values.
    ``trips_breaker`` says whether it counts as a provider failure for the
    circuit breaker (a refusal of one phone does not). ``no_call`` says the
    provider surely placed no call, so the next provider may be asked (SPEC
    §8); by default true for a refused connection, rejected credentials and
    no funds. The message never holds a secret: providers build it from
    their own words only.
    """

    def __init__(
        self,
        reason: str,
        message: str = "",
        *,
        trips_breaker: bool = True,
        no_call: bool | None = None,
    ) -> None:
        self.reason = reason
        self.message = message or reason
        self.trips_breaker = trips_breaker
        self.no_call = reason in NO_CALL_REASONS if no_call is None else no_call
        super().__init__(self.message)


class InvalidPhoneForProvider(ProviderError):
    """The provider rejected the phone's format (its 400): no call placed."""

    def __init__(self, message: str = "") -> None:
        super().__init__("rejected", message, trips_breaker=False, no_call=True)


class BaseProvider:
    """Subclass and implement :meth:`send`; the rest is optional.

    ``OPTIONS`` of a ``FLASHCALL_PROVIDERS`` entry arrive as keyword
    arguments, kept in :attr:`options`.
    """

    #: Whether :meth:`send` spends money; the sandbox says False.
    is_paid = True
    #: The provider's name in attempt rows, breaker keys and monitoring; a
    #: ``FLASHCALL_PROVIDERS`` entry's ``NAME`` overrides it per instance.
    name = ""
    #: Options whose values are secrets: redacted from every log record.
    secret_options: tuple[str, ...] = ()
    #: Options a ``FLASHCALL_PROVIDERS`` entry must set (system check E023).
    required_options: tuple[str, ...] = ()
    #: Whether :meth:`send` takes ``client_ip`` and ``attempt_id`` too.
    wants_context = False

    #: The API's base URL when the ``url`` option is not given.
    default_url = ""

    def __init__(self, **options: Any) -> None:
        self.options = options

    def __repr__(self) -> str:  # never an option: some are secrets
        return f"<{type(self).__name__} {self.name}>"

    def _url(self, path: str) -> str:
        """``path`` under the ``url`` option (tests point it at a fake) or
        :attr:`default_url`."""
        base = str(self.options.get("url") or self.default_url)
        return (base if base.endswith("/") else base + "/") + path

    def secrets(self) -> list[str]:
        """The values the log filter must never let through."""
        return [str(v) for k, v in self.options.items() if k in self.secret_options and v]

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
        secrets = all_secrets()
        if not secrets:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a broken record is not ours to fix
            return True
        redacted = redact(text, secrets)
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


def all_secrets() -> list[str]:
    """FLASHCALL_API_TOKEN and every configured provider's secret options."""
    from ..conf import flashcall_settings
    from .registry import raw_setting

    secrets = [flashcall_settings.API_TOKEN]
    for item in raw_setting():
        # Read leniently: a malformed entry is system check E020's business.
        options = item.get("OPTIONS") if isinstance(item, dict) else None
        if isinstance(options, dict):
            backend = item.get("BACKEND")
            names = _secret_names(backend) if isinstance(backend, str) else ()
            secrets += [str(options[k]) for k in names if options.get(k)]
    # Longest first: a secret that contains another is hidden whole.
    return sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)


def _secret_names(backend: str) -> tuple[str, ...]:
    from django.utils.module_loading import import_string

    default = ("token", "api_id", "secret_key")
    try:
        cls = import_string(backend)
    except ImportError:  # a typo in BACKEND (E002) must not let its OPTIONS into the logs
        return default
    return tuple(getattr(cls, "secret_options", ())) or default


def redact(text: str, secrets: str | list[str] | None = None) -> str:
    """``text`` with every secret (the token by default: all of them) as ``<token>``."""
    if secrets is None:
        secrets = all_secrets()
    elif isinstance(secrets, str):
        secrets = [secrets]
    for secret in secrets:
        if secret:
            # A URL carries a secret percent-encoded: hide that spelling too.
            for spelling in {secret, quote(secret, safe="")}:
                text = text.replace(spelling, "<token>")
    return text


def install_log_redaction() -> None:
    for name in _GUARDED_LOGGERS:
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)
