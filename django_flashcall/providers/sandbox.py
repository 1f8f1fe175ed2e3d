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


outbox: list[SandboxCall] = []
_ids = itertools.count(1)


class SandboxProvider(BaseProvider):
    is_paid = False
    outbox = outbox  # the same list as the module's, as mail.outbox

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        caller = "7" + "".join(secrets.choice("0123456789") for _ in range(10))
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
