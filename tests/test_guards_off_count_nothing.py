"""With the pumping guards off (no ``FLASHCALL_CHALLENGE``, no
``FLASHCALL_RANGE_DAILY_LIMIT``) a request reads and counts nothing for
them: turning them on later starts from clean counters."""

from __future__ import annotations

import pytest

from django_flashcall.models import Status
from django_flashcall.services import request_code

pytestmark = pytest.mark.django_db


def test_calls_made_while_the_guards_were_off_do_not_heat_a_range(settings, outbox):
    settings.FLASHCALL_CHALLENGE = None
    settings.FLASHCALL_RANGE_DAILY_LIMIT = None
    settings.FLASHCALL_RANGE_RISK = 1
    request_code("79244500001")  # unanswered
    settings.FLASHCALL_CHALLENGE = "django_flashcall.testing.challenge.arithmetic"
    # Counted, that call would make the range hot and this one need the challenge.
    assert request_code("79244500002").status == Status.PENDING
