"""Why a confirm is refused, as its caller and ``code_failed``'s receivers
see it: the phone's lock (with its wait), a confirm by phone alone past its
one check, ``FLASHCALL_MAX_CHECKS`` as it is now against a live attempt, an
exhausted attempt. And the attempt handed back or sent with a signal says
what the row says."""

from __future__ import annotations

import pytest

from django_flashcall import signals
from django_flashcall.exceptions import LIMIT_DETAILS, InvalidCode, TooManyAttempts
from django_flashcall.models import Reason, Status
from django_flashcall.services import confirm_code, request_code
from tests.helpers import PHONE, code_for, row, wrong

pytestmark = pytest.mark.django_db

DAY = 86400


@pytest.fixture
def failed():
    """(error, attempt) of each ``code_failed``."""
    log = []

    def receiver(sender, error, attempt, **kwargs):
        log.append((error, attempt))

    signals.code_failed.connect(receiver)
    yield log
    signals.code_failed.disconnect(receiver)


def _owner(attempt, code: str):
    return confirm_code(PHONE, code, attempt_id=str(attempt.public_id))


def test_a_locked_phone_refuses_even_the_right_code_and_says_how_long(
    outbox, settings, clock, failed
):
    settings.FLASHCALL_PHONE_MAX_FAILURES = 2
    attempt = request_code(PHONE)
    code = code_for(outbox)
    for _ in range(2):
        with pytest.raises(InvalidCode):
            _owner(attempt, wrong(code))
    clock.advance(100)
    with pytest.raises(TooManyAttempts) as info:
        _owner(attempt, code)
    error = info.value
    assert (error.reason, error.extra["retry_after"]) == (Reason.PHONE_LOCKED, DAY - 100)
    assert error.detail == LIMIT_DETAILS["phone_locked"]
    assert failed[-1][0] is error
    assert row(attempt).status == Status.PENDING


def test_a_second_confirm_by_phone_alone_is_refused_as_phone_only(outbox, failed):
    request_code(PHONE)
    code = code_for(outbox)
    with pytest.raises(InvalidCode):
        confirm_code(PHONE, wrong(code))
    with pytest.raises(TooManyAttempts) as info:
        confirm_code(PHONE, code)  # even the right one: the check is used
    assert info.value.reason == Reason.PHONE_ONLY
    assert failed[-1][0] is info.value


def test_a_lower_max_checks_applies_to_a_live_attempt_at_once(outbox, settings):
    settings.FLASHCALL_MAX_CHECKS = 3
    attempt = request_code(PHONE)
    code = code_for(outbox)
    with pytest.raises(InvalidCode):
        _owner(attempt, wrong(code))
    settings.FLASHCALL_MAX_CHECKS = 1  # the one check it had is used
    with pytest.raises(TooManyAttempts):
        _owner(attempt, code)
    assert row(attempt).status == Status.PENDING


def test_an_exhausted_attempt_stays_so_when_max_checks_is_raised(outbox, settings):
    settings.FLASHCALL_MAX_CHECKS = 1
    attempt = request_code(PHONE)
    code = code_for(outbox)
    with pytest.raises(InvalidCode):
        _owner(attempt, wrong(code))
    assert row(attempt).status == Status.EXHAUSTED
    settings.FLASHCALL_MAX_CHECKS = 3
    with pytest.raises(TooManyAttempts):
        _owner(attempt, code)


def test_the_attempts_sent_and_returned_match_their_rows(outbox, failed):
    attempt = request_code(PHONE)
    code = code_for(outbox)
    with pytest.raises(InvalidCode):
        _owner(attempt, wrong(code))
    sent = failed[-1][1]
    assert (
        (sent.checks_used, sent.status)
        == (1, Status.PENDING)
        == (
            row(attempt).checks_used,
            row(attempt).status,
        )
    )
    verified = confirm_code(PHONE, code)  # by phone alone: its check is given back
    stored = row(attempt)
    assert (stored.status, stored.checks_used, stored.phone_only_checks) == (Status.VERIFIED, 1, 0)
    assert (verified.status, verified.checks_used, verified.phone_only_checks) == (
        Status.VERIFIED,
        1,
        0,
    )
