"""The guards of ``confirm_code`` against a write committed by another
process between its read of the attempt and its own write (SPEC §6: single
use, checks counted atomically). Each competing write is placed at an exact
point with :func:`tests.interleave.interleave`, so these run on SQLite (no
row locks: the guards are all there is) and on PostgreSQL alike."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from django_flashcall.exceptions import (
    CodeExpired,
    InvalidCode,
    NoActiveAttempt,
    TooManyAttempts,
)
from django_flashcall.models import CallAttempt, PhoneNumber, Status
from django_flashcall.services import confirm_code, request_code
from tests.helpers import PHONE, code_for, owners_attempt, row, wrong
from tests.interleave import interleave, updates

pytestmark = pytest.mark.django_db

ATTEMPTS = "django_flashcall_callattempt"
User = get_user_model()


@pytest.fixture
def owner():
    user = User.objects.create_user("owner")
    PhoneNumber.objects.create(user=user, phone=PHONE)
    return user


def test_right_code_after_a_concurrent_success_is_no_active_attempt(outbox, owner, clock):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    winner_at = clock.advance(1)

    def concurrent_success() -> None:
        CallAttempt.objects.filter(pk=attempt.pk).update(
            status=Status.VERIFIED, verified_at=winner_at, user=owner
        )

    clock.advance(1)
    with interleave(updates(ATTEMPTS), concurrent_success) as seen:
        with pytest.raises(NoActiveAttempt):
            confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE))
    assert "fired" in seen
    stored = row(attempt)
    assert (stored.status, stored.verified_at) == (Status.VERIFIED, winner_at)


def test_wrong_code_after_a_concurrent_success_changes_nothing(outbox, owner):
    attempt = request_code(PHONE)
    code = code_for(outbox)

    def concurrent_success() -> None:
        CallAttempt.objects.filter(pk=attempt.pk).update(status=Status.VERIFIED, user=owner)

    with interleave(updates(ATTEMPTS), concurrent_success) as seen:
        with pytest.raises(TooManyAttempts):
            confirm_code(PHONE, wrong(code))
    assert "fired" in seen
    stored = row(attempt)
    assert (stored.status, stored.checks_used) == (Status.VERIFIED, 0)


def test_wrong_code_after_a_concurrent_last_check_is_not_counted(outbox, settings):
    settings.FLASHCALL_MAX_CHECKS = 3
    attempt = request_code(PHONE)
    bad = wrong(code_for(outbox))
    CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=2)

    def concurrent_last_check() -> None:
        CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=3, status=Status.EXHAUSTED)

    with interleave(updates(ATTEMPTS), concurrent_last_check) as seen:
        with pytest.raises(TooManyAttempts):
            confirm_code(PHONE, bad, attempt_id=owners_attempt(PHONE))
    assert "fired" in seen
    stored = row(attempt)
    assert (stored.status, stored.checks_used) == (Status.EXHAUSTED, 3)


def test_a_check_counted_after_a_concurrent_one_exhausts_at_the_max(outbox, settings):
    """The read said one check was used; another confirm counted the second
    in between: this one is the third and last, so the attempt is exhausted,
    not left pending with no check to give."""
    settings.FLASHCALL_MAX_CHECKS = 3
    attempt = request_code(PHONE)
    bad = wrong(code_for(outbox))
    CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=1)

    def concurrent_check() -> None:
        CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=2)

    with interleave(updates(ATTEMPTS), concurrent_check) as seen:
        with pytest.raises(InvalidCode):
            confirm_code(PHONE, bad, attempt_id=owners_attempt(PHONE))
    assert "fired" in seen
    stored = row(attempt)
    assert (stored.status, stored.checks_used) == (Status.EXHAUSTED, 3)


def test_expiry_does_not_overwrite_a_concurrent_success(outbox, owner, clock):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    clock.advance(300)  # FLASHCALL_CODE_TTL

    def concurrent_success() -> None:
        # Its clock read just before the TTL ran out.
        CallAttempt.objects.filter(pk=attempt.pk).update(status=Status.VERIFIED, user=owner)

    with interleave(updates(ATTEMPTS), concurrent_success) as seen:
        with pytest.raises(CodeExpired):
            confirm_code(PHONE, code)
    assert "fired" in seen
    assert row(attempt).status == Status.VERIFIED


@pytest.mark.parametrize("right", [True, False], ids=["right code", "wrong code"])
def test_by_phone_alone_after_a_concurrent_guess_by_phone_alone_is_refused(outbox, right):
    """Two confirms by phone alone read the attempt at once: only one guess
    between them (SPEC §10), and the loser's answer does not tell whether
    its code was right."""
    attempt = request_code(PHONE)
    code = code_for(outbox)

    def concurrent_guess() -> None:
        CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=1, phone_only_checks=1)

    with interleave(updates(ATTEMPTS), concurrent_guess) as seen:
        with pytest.raises(TooManyAttempts) as refused:
            confirm_code(PHONE, code if right else wrong(code))
    assert "fired" in seen
    assert refused.value.reason == "phone_only"
    stored = row(attempt)
    assert (stored.status, stored.checks_used, stored.phone_only_checks) == (
        Status.PENDING,
        1,
        1,
    )


# --------------------------------------------------------------------------- single use


def test_a_verified_attempt_is_single_use(outbox, clock):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    confirm_code(PHONE, code)
    by_id = {"attempt_id": str(attempt.public_id)}
    for kwargs in ({"phone": PHONE}, by_id, {**by_id, "phone": PHONE}):
        # A wrong code is not a guess at a used code: no_active_attempt, not 429.
        with pytest.raises(NoActiveAttempt):
            confirm_code(code=wrong(code), **kwargs)
        with pytest.raises(NoActiveAttempt):
            confirm_code(code=code, **kwargs)
    clock.advance(3600)  # past the TTL it is still "used", not "expired"
    with pytest.raises(NoActiveAttempt):
        confirm_code(PHONE, code)
    stored = row(attempt)
    assert (stored.status, stored.checks_used) == (Status.VERIFIED, 0)


# --------------------------------------------------------------------------- a setting E007 refuses


def test_phone_max_failures_zero_never_crashes_a_confirm(outbox, settings):
    """E007 refuses 0 at start; a site that silences the check must still get
    answers, not a TypeError (``None + timedelta``) on every confirm."""
    settings.FLASHCALL_PHONE_MAX_FAILURES = 0
    attempt = request_code(PHONE)
    code = code_for(outbox)
    with pytest.raises(InvalidCode):
        confirm_code(PHONE, wrong(code), attempt_id=owners_attempt(PHONE))
    # One wrong code on record: the phone is now past a limit of 0.
    with pytest.raises(TooManyAttempts):
        confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE))
    assert row(attempt).status == Status.PENDING
