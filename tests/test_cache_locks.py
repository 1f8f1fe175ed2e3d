"""The short locks in the shared cache (internal/limits.py): a request for a
phone another process is calling right now is refused at once, and a lock
that timed out and was taken by another process is not released by its
first owner."""

from __future__ import annotations

import pytest

from django_flashcall import services
from django_flashcall.exceptions import RateLimited
from django_flashcall.internal import limits
from django_flashcall.models import CallAttempt, Reason, Status
from tests.helpers import PHONE

pytestmark = pytest.mark.django_db

KEY = f"flashcall:phone-lock:{PHONE}"


def test_a_phone_another_process_is_calling_is_busy_not_called_twice(flashcall_outbox, settings):
    settings.FLASHCALL_RESEND_COOLDOWN = 45
    cache = limits._cache()
    assert cache.add(KEY, "another-process", limits.LOCK_TTL)
    with pytest.raises(RateLimited) as refused:
        services.request_code(PHONE)
    assert (refused.value.reason, refused.value.retry_after) == (Reason.BUSY, 45)
    assert flashcall_outbox == []
    row = CallAttempt.objects.get()
    assert (row.status, row.reason) == (Status.REFUSED, Reason.BUSY)
    assert cache.get(KEY) == "another-process"  # still theirs

    cache.delete(KEY)  # their request is done: this phone may be called
    services.request_code(PHONE)
    assert [call.phone for call in flashcall_outbox] == [PHONE]
    assert cache.get(KEY) is None  # released after the check → insert


def test_a_lock_that_timed_out_and_changed_hands_stays_with_its_new_owner():
    cache = limits._cache()
    with limits.phone_lock(PHONE):
        # This process stalled past LOCK_TTL; another one took the lock.
        cache.set(KEY, "the-new-owner", limits.LOCK_TTL)
    assert cache.get(KEY) == "the-new-owner"
    with pytest.raises(RateLimited):
        with limits.phone_lock(PHONE):
            pass


def test_the_site_lock_is_waited_for_while_its_holder_finishes(settings, monkeypatch):
    settings.FLASHCALL_DAILY_BUDGET = 100  # the budget's check → insert is serialised
    cache = limits._cache()
    assert cache.add(limits.SITE_LOCK, "another-process", limits.LOCK_TTL)
    pauses: list[float] = []

    def holder_finishes_while_we_wait(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:  # the other request releases its lock
            cache.delete(limits.SITE_LOCK)

    monkeypatch.setattr(limits.time, "sleep", holder_finishes_while_we_wait)
    with limits.site_lock():
        assert cache.get(limits.SITE_LOCK) not in (None, "another-process")  # ours now
    assert pauses == [0.002, 0.004]  # short pauses, doubling
    assert cache.get(limits.SITE_LOCK) is None
