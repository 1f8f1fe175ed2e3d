"""Helpers shared by the core-engine tests: a movable clock and test providers.

The providers below are real pluggable providers (selected with
``settings.FLASHCALL_PROVIDER = "tests.helpers.<Name>"``), not mocks: the
services load them through ``get_provider()`` exactly as they load the
telefon-ip client.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.utils import timezone

from django_flashcall.providers import (
    BaseProvider,
    ProviderError,
    ProviderResult,
    SandboxProvider,
    TelefonIPProvider,
)


class Clock:
    """A frozen clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or timezone.now()

    def __call__(self) -> datetime:
        return self.current

    def advance(self, seconds: float = 0, **kwargs: float) -> datetime:
        self.current += timedelta(seconds=seconds, **kwargs)
        return self.current


def install_clock(monkeypatch: Any, start: datetime | None = None) -> Clock:
    """Freeze the app's clock at ``start``, in every module that uses it.

    ``django_flashcall.internal.clock.now`` is the single clock, but modules import it
    by name (``from .clock import now``): each such reference is patched too.
    ``clock.now_ts`` calls ``clock.now``, so the breaker follows.
    """
    # Import every module that uses the clock before looking for them.
    import django_flashcall.services  # noqa: F401
    from django_flashcall.internal import clock as clock_module

    fake = Clock(start)
    real_now = clock_module.now
    for name, module in list(sys.modules.items()):
        if name.startswith("django_flashcall") and getattr(module, "now", None) is real_now:
            monkeypatch.setattr(module, "now", fake)
    return fake


PHONE = "79244501003"


def phone(i: int) -> str:
    """Distinct valid phones, for tests that must not trip per-phone limits."""
    return f"7916{i:07d}"


def code_for(outbox: list, number: str = PHONE) -> str:
    """The code of the newest sandbox call to ``number``."""
    return [call for call in outbox if call.phone == number][-1].code


def row(attempt: Any) -> Any:
    """The attempt as the database has it now."""
    return type(attempt).objects.get(pk=attempt.pk)


_NOISE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # UUIDs
    r"|\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z|[+-]\d\d:\d\d)?"  # ISO timestamps
    r"|[A-Za-z0-9]{32,}"  # CSRF tokens and other long random strings
)


def scrub(text: str, *known: str) -> str:
    """``text`` without the values where any 4 digits may occur by chance.

    Removes the ``known`` strings (a phone, an id), UUIDs, ISO timestamps and
    long random tokens, so that ``code not in scrub(...)`` tests that the
    code is not shown without failing when, say, a timestamp's microseconds
    happen to hold the same four digits.
    """
    for value in known:
        text = text.replace(value, "")
    return _NOISE.sub("", text)


def wrong(code: str) -> str:
    """A well-formed code that is not ``code``."""
    return f"{(int(code) + 1) % 10000:04d}"


class FailingProvider(BaseProvider):
    """A provider that always fails like a 5xx; records who it was asked to call."""

    calls: ClassVar[list[str]] = []
    reason: ClassVar[str] = "server_error"
    message: ClassVar[str] = "the provider answered HTTP 500"

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        FailingProvider.calls.append(phone)
        raise ProviderError(FailingProvider.reason, FailingProvider.message)


class ScriptedProvider(SandboxProvider):
    """The sandbox (appends to its outbox), with a switchable failure and a hook
    run *while* the call is in flight (to interleave a second request
    deterministically, as a concurrent process would)."""

    calls: ClassVar[list[str]] = []
    failure: ClassVar[Exception | None] = None  # raised by send() when set
    during_call: ClassVar[Callable[[], None] | None] = None

    @classmethod
    def reset(cls) -> None:
        cls.calls.clear()
        cls.failure = None
        cls.during_call = None

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        cls = ScriptedProvider
        cls.calls.append(phone)
        hook, cls.during_call = cls.during_call, None
        if hook is not None:
            hook()
        if cls.failure is not None:
            raise cls.failure
        return super().send(phone, sms_fallback=sms_fallback)


class FixedCodeProvider(BaseProvider):
    """Always "calls" from a number ending in ``CODE``."""

    CODE: ClassVar[str] = "8642"

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        return ProviderResult(code=self.CODE, provider_id="fixed-1", phone=phone)


class MyTelefonIP(TelefonIPProvider):
    """A site's subclass of the telefon-ip client (needs the token too)."""


def login_hook(request: Any, user: Any, attempt: Any) -> dict[str, Any]:
    """A valid ``FLASHCALL_LOGIN`` callable."""
    return {"hooked": True}


NOT_CALLABLE = {"a": "dict"}


def use_scripted(settings: Any) -> type[ScriptedProvider]:
    """Select ``ScriptedProvider`` (reset) for this test; returns the class."""
    settings.FLASHCALL_PROVIDER = "tests.helpers.ScriptedProvider"
    ScriptedProvider.reset()
    return ScriptedProvider


def use_failing(settings: Any, reason: str = "server_error") -> type[FailingProvider]:
    """Select ``FailingProvider`` (its calls emptied) for this test; returns the class."""
    settings.FLASHCALL_PROVIDER = "tests.helpers.FailingProvider"
    FailingProvider.calls.clear()
    FailingProvider.reason = reason
    return FailingProvider


def owners_attempt(number: str = PHONE) -> str:
    """The id of the phone's newest confirmable attempt: what the client that
    asked for the call holds. A confirm that carries it is the owner's; one by
    phone alone gets a single check (services/phone_only.py)."""
    from django_flashcall.models import CONFIRMABLE, CallAttempt
    from django_flashcall.phone import normalize

    newest = (
        CallAttempt.objects.filter(phone=normalize(number), status__in=CONFIRMABLE)
        .order_by("-created_at", "-pk")
        .values_list("public_id", flat=True)
        .first()
    )
    return str(newest)
