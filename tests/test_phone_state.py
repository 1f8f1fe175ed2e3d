"""What the per-phone limits count (``limits.phone_state``), rule by rule:
wrong codes by phone alone apart from the owner's, the failure lock's clock
from the owner's oldest wrong code, a staff unlock's marker against a call in
the same instant, live codes against lapsed ones, and rows that carry no
verification time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_flashcall.exceptions import InvalidCode, RateLimited, TooManyAttempts
from django_flashcall.internal import limits
from django_flashcall.models import CallAttempt, Channel, Reason, Status
from django_flashcall.services import confirm_code, request_code, unlock_phone
from tests.helpers import PHONE, code_for, owners_attempt, row, wrong

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture
def two_strikes(lockable, settings):
    """Two owner's wrong codes lock the phone; nothing else refuses."""
    settings.FLASHCALL_PHONE_MAX_FAILURES = 2
    return lockable


def _by_phone_alone(code: str) -> None:
    with pytest.raises(InvalidCode):
        confirm_code(PHONE, wrong(code))


def _by_owner(code: str) -> None:
    with pytest.raises((InvalidCode, TooManyAttempts)):
        confirm_code(PHONE, wrong(code), attempt_id=owners_attempt(PHONE))


def test_a_wrong_code_by_phone_alone_does_not_count_towards_the_owners_lock(outbox, two_strikes):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    _by_phone_alone(code)
    _by_owner(code)
    assert (row(attempt).checks_used, row(attempt).phone_only_checks) == (2, 1)
    state = limits.phone_state(PHONE, two_strikes())
    assert (state.failures, state.phone_only_failures) == (1, 1)
    # One owner's wrong code of two: the phone may get a new call.
    assert request_code(PHONE).status == Status.PENDING


def test_the_lock_lasts_a_day_from_the_owners_oldest_wrong_code(outbox, two_strikes):
    clock = two_strikes
    request_code(PHONE)
    _by_phone_alone(code_for(outbox))  # anyone's: it does not start the lock's day
    clock.advance(100)
    request_code(PHONE)
    code = code_for(outbox)
    _by_owner(code)
    _by_owner(code)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert (info.value.reason, info.value.retry_after) == (Reason.PHONE_LOCKED, DAY)


def test_a_call_in_the_same_instant_as_an_unlock_but_after_it_counts(outbox, settings, clock):
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    request_code(PHONE)
    assert unlock_phone(PHONE) is not None
    # The clock has not moved: the marker and the next call share created_at,
    # and only the order of the rows says the call came after the unlock.
    assert request_code(PHONE).status == Status.PENDING
    assert limits.phone_state(PHONE, clock()).calls == 1
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert (info.value.reason, info.value.retry_after) == (Reason.COOLDOWN, 60)


def test_an_unlock_leaves_a_live_code_nobody_guessed_at(outbox, settings, clock):
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    attempt = request_code(PHONE)
    assert limits.phone_state(PHONE, clock()).failing == []
    unlocked = unlock_phone(PHONE)
    assert unlocked is not None
    assert (unlocked.forgiven, unlocked.expired, unlocked.calls) == (0, 0, 1)
    assert row(attempt).status == Status.PENDING
    confirmed = confirm_code(PHONE, code_for(outbox), attempt_id=str(attempt.public_id))
    assert confirmed.status == Status.VERIFIED


def _pending(at, ttl: int) -> CallAttempt:
    return CallAttempt.objects.create(
        phone=PHONE,
        status=Status.PENDING,
        channel=Channel.CALL,
        created_at=at - timedelta(seconds=30),
        expires_at=at + timedelta(seconds=ttl),
    )


def test_pending_counts_the_live_codes_and_agrees_with_lapsed(clock):
    at = clock()
    _pending(at, ttl=-1)  # lapsed a second ago
    _pending(at, ttl=0)  # lapses this very instant
    live = [_pending(at, ttl=1), _pending(at, ttl=60)]
    # A verified code inside its TTL is not pending.
    CallAttempt.objects.create(
        phone=PHONE,
        status=Status.VERIFIED,
        channel=Channel.CALL,
        created_at=at - timedelta(seconds=10),
        expires_at=at + timedelta(seconds=60),
        verified_at=at - timedelta(seconds=5),
    )
    lapsed = set(CallAttempt.objects.lapsed(at).values_list("pk", flat=True))
    assert len(lapsed) == 2 and not lapsed & {a.pk for a in live}
    assert limits.phone_state(PHONE, at).pending == len(live)


def test_a_verified_row_without_a_verification_time_resets_nothing(outbox, settings, clock):
    # The column is nullable: a row edited by hand (or by a data fix) may be
    # verified without a time. It cannot say since when wrong codes stop
    # counting, so it resets nothing, and it must not break the limits.
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    attempt = request_code(PHONE)
    with pytest.raises(InvalidCode):
        confirm_code(PHONE, wrong(code_for(outbox)), attempt_id=str(attempt.public_id))
    CallAttempt.objects.filter(pk=attempt.pk).update(status=Status.VERIFIED, verified_at=None)
    clock.advance(1)
    state = limits.phone_state(PHONE, clock())
    assert (state.failures, state.calls) == (1, 1)
    assert request_code(PHONE).status == Status.PENDING
