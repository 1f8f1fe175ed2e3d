"""``services.unlock_phone`` as the limits see it: the calls before the
marker stop counting for the phone (cooldown, daily limit), its wrong codes
are forgiven, and a live attempt that was being guessed at is expired."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import InvalidCode, RateLimited
from django_flashcall.internal import limits
from django_flashcall.models import Reason, Status
from django_flashcall.services import confirm_code, request_code, unlock_phone
from tests.helpers import PHONE, code_for, row, wrong

pytestmark = pytest.mark.django_db


def test_an_unlock_lifts_the_cooldown_and_the_daily_limit(outbox, settings, clock):
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 1
    request_code(PHONE)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.reason == Reason.COOLDOWN
    unlocked = unlock_phone(PHONE, by="staff")
    assert unlocked is not None
    state = limits.phone_state(PHONE, clock())
    assert (state.calls, state.last_call, state.oldest_call) == (0, None, None)
    clock.advance(1)
    assert request_code(PHONE).status == Status.PENDING  # a call after the marker...
    clock.advance(61)
    with pytest.raises(RateLimited) as info:  # ...counts again
        request_code(PHONE)
    assert info.value.reason == Reason.PHONE_DAILY


def test_an_unlock_forgives_wrong_codes_and_expires_the_guessed_attempt(outbox, clock):
    attempt = request_code(PHONE)
    with pytest.raises(InvalidCode):  # the owner's wrong code (it carries the attempt)
        confirm_code(PHONE, wrong(code_for(outbox)), attempt_id=str(attempt.public_id))
    state = limits.phone_state(PHONE, clock())
    assert state.failing == [(attempt.pk, Status.PENDING, 1)]
    assert state.failures == 1
    unlocked = unlock_phone(PHONE)
    assert unlocked is not None and unlocked.forgiven == 1
    assert row(attempt).status == Status.EXPIRED
    after = limits.phone_state(PHONE, clock())
    assert (after.failures, after.failing, after.oldest_failure) == (0, [], None)
