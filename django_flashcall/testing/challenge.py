"""A tiny arithmetic challenge for tests and the demo: ``FLASHCALL_CHALLENGE``.

Not a CAPTCHA: a script reads the question as easily as a person. It stands
in for one (hCaptcha, Turnstile, reCAPTCHA...) to show and test the flow::

    FLASHCALL_CHALLENGE = "django_flashcall.testing.challenge.arithmetic"

The question is derived from the phone and a 10-minute period, keyed with
``SECRET_KEY``: no state to keep, for the pages and the JSON API alike; an
answer to the previous period's question is still taken.
"""

from __future__ import annotations

from typing import Any

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from ..internal.clock import now

PERIOD = 600  # seconds a question stays the same


def _operands(phone: str, period: int) -> tuple[int, int]:
    digest = salted_hmac("django_flashcall.testing.challenge", f"{phone}:{period}").digest()
    return 2 + digest[0] % 8, 2 + digest[1] % 8


def _period() -> int:
    return int(now().timestamp() // PERIOD)


def question(phone: str) -> tuple[int, int]:
    """The two numbers to add for ``phone`` now."""
    return _operands(phone, _period())


def answer(phone: str) -> str:
    """The right answer for ``phone`` now (what an honest user types)."""
    a, b = question(phone)
    return str(a + b)


def arithmetic(request: Any, phone: str, value: Any) -> bool:
    """``FLASHCALL_CHALLENGE``: True if ``value`` is the sum asked for ``phone``."""
    if not isinstance(value, str):
        return False
    period = _period()
    return any(value.strip() == str(sum(_operands(phone, p))) for p in (period, period - 1))


def prompt(request: Any, phone: str) -> str:
    """The question, shown on the page and sent as ``challenge`` in the API's 403."""
    a, b = question(phone)
    return _("How much is %(a)d + %(b)d?") % {"a": a, "b": b}


arithmetic.prompt = prompt  # type: ignore[attr-defined]
