"""A provider with no network, for development, demos and tests.

Like ``django.core.mail.backends.locmem``: every simulated call is appended
to :data:`outbox`, one list shared by all instances.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from ..phone import pretty
from .base import BaseProvider, DeliveryStatus, ProviderResult

logger = logging.getLogger("django_flashcall.sandbox")


@dataclass(frozen=True)
class SandboxCall:
    phone: str
    caller: str  # the number that "calls"; its last 4 digits are the code
    code: str
    provider_id: str
    sms_fallback: bool = False
    created_at: datetime = field(default_factory=timezone.now)


# Area codes real flash calls come from (Moscow, St Petersburg, Yekaterinburg,
# Ufa, Novosibirsk, Samara, Rostov, Krasnodar, Kazan) and mobile ranges: the
# demo's "incoming call" should look like one, not like "+7 098 ...".
CALLER_PREFIXES = ("495", "499", "812", "343", "347", "383", "846", "863", "861", "843",
                   "900", "916", "926", "958", "977")  # fmt: skip


def fake_caller() -> str:
    """A plausible Russian caller number, ``7XXXXXXXXXX``, random in its last
    4 digits (the code). Local numbers do not start with 0 or 1."""
    digits = "0123456789"
    local = secrets.choice("23456789") + "".join(secrets.choice(digits) for _ in range(6))
    return "7" + secrets.choice(CALLER_PREFIXES) + local


outbox: list[SandboxCall] = []
_ids = itertools.count(1)


class SandboxProvider(BaseProvider):
    is_paid = False
    name = "sandbox"
    outbox = outbox  # the same list as the module's, as mail.outbox

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        caller = fake_caller()
        code = caller[-4:]
        provider_id = f"sandbox-{next(_ids)}"
        self.outbox.append(SandboxCall(phone, caller, code, provider_id, sms_fallback))
        # The sandbox is the one place a code may be logged: no real call is made.
        logger.info("Sandbox call to %s from %s (code %s)", pretty(phone), pretty(caller), code)
        return ProviderResult(code=code, provider_id=provider_id, phone=phone)

    def get_status(self, provider_id: str) -> DeliveryStatus:
        return DeliveryStatus(provider_id=provider_id, delivered=True, info="sandbox")

    @staticmethod
    def last_call(phone: str | None = None) -> SandboxCall | None:
        """The newest simulated call, to ``phone`` if given."""
        for call in reversed(outbox):
            if phone is None or call.phone == phone:
                return call
        return None
