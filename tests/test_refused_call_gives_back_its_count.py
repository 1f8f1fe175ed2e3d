"""A request the pumping guards counted but a limit then refused gives its
count back: it placed no call, so it does not use up the range's day."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import RateLimited
from django_flashcall.models import Reason, Status
from django_flashcall.services import request_code

pytestmark = pytest.mark.django_db


def test_a_cooldown_refusal_leaves_the_ranges_day_as_it_was(settings, outbox):
    settings.FLASHCALL_RANGE_DAILY_LIMIT = 2  # the guards on, no challenge
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    request_code("79244500001")
    for _ in range(3):
        with pytest.raises(RateLimited) as info:
            request_code("79244500001")
        assert info.value.reason == Reason.COOLDOWN
    # One call placed in the range: room for a second one.
    assert request_code("79244500002").status == Status.PENDING
