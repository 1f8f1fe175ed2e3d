"""The spend guards of SPEC §6, through ``request_code`` / ``confirm_code``:
the phone failure lock, the resend cooldown, the per-phone daily limit, the
site budget and the per-phone lock; all checked before the paid call."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_flashcall import signals
from django_flashcall.exceptions import (
    InvalidCode,
    ProviderUnavailable,
    RateLimited,
    TooManyAttempts,
)
from django_flashcall.models import CallAttempt
from django_flashcall.providers import ProviderError
from django_flashcall.services import confirm_code, request_code
from tests.helpers import code_for, owners_attempt, phone, row, wrong

pytestmark = pytest.mark.django_db

PHONE = "79244501003"
DAY = 86400


# --------------------------------------------------------------------------- phone lock


def _fail(times: int, code: str) -> list[int]:
    left = []
    for _ in range(times):
        with pytest.raises(InvalidCode) as info:
            confirm_code(PHONE, wrong(code), attempt_id=owners_attempt(PHONE))
        left.append(info.value.extra["attempts_left"])
    return left


def test_wrong_codes_lock_the_phone_across_attempts(outbox, lockable):
    clock = lockable
    first = request_code(PHONE)
    assert _fail(3, code_for(outbox)) == [2, 1, 0]
    clock.advance(1)

    # A new call does not reset the phone's count: 3 + 2 = 5 locks it.
    second = request_code(PHONE)
    code = code_for(outbox)
    assert _fail(2, code) == [2, 1]
    assert row(second).status == "pending"

    # Confirm: the attempt has a check left, yet the phone is locked.
    with pytest.raises(TooManyAttempts):
        confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE))
    assert row(second).status == "pending" and row(second).checks_used == 2
    assert row(second).user_id is None

    # Request: rate limited, no paid call, a refused row.
    calls = len(outbox)
    clock.advance(100)
    with pytest.raises(RateLimited) as info:
        request_code("8 (924) 450-10-03")
    assert len(outbox) == calls
    assert info.value.retry_after == DAY - 100 - 1  # until the first failing attempt ages out
    refused = CallAttempt.objects.order_by("-pk").first()
    assert (refused.status, refused.reason, refused.channel) == ("refused", "phone_locked", "none")
    assert first.pk != refused.pk

    # The window passes: the phone may get a call again.
    clock.advance(DAY)
    request_code(PHONE)
    assert len(outbox) == calls + 1


def test_phone_lock_is_a_rolling_window(outbox, lockable):
    clock = lockable
    request_code(PHONE)
    _fail(3, code_for(outbox))
    clock.advance(3600)
    request_code(PHONE)
    _fail(2, code_for(outbox))
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.retry_after == DAY - 3600
    # The first attempt's 3 failures age out; the second's 2 remain: unlocked.
    clock.advance(DAY - 3600 + 1)
    request_code(PHONE)
    assert (
        confirm_code(PHONE, code_for(outbox), attempt_id=owners_attempt(PHONE)).status == "verified"
    )


def test_a_success_resets_the_phone_failure_count(outbox, lockable):
    clock = lockable
    request_code(PHONE)
    _fail(3, code_for(outbox))
    clock.advance(1)
    request_code(PHONE)
    code = code_for(outbox)
    _fail(1, code)  # 4 of 5
    clock.advance(1)
    assert (
        confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE)).status == "verified"
    )  # resets the count
    clock.advance(1)

    request_code(PHONE)
    # Without the reset 4 + 3 would pass the lock at the second wrong code.
    assert _fail(3, code_for(outbox)) == [2, 1, 0]
    clock.advance(1)
    request_code(PHONE)  # 3 < 5: not locked
    code = code_for(outbox)
    assert _fail(1, code) == [2]
    assert confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE)).status == "verified"


def test_default_phone_max_failures_is_ten(outbox, settings, clock):
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 100
    for _ in range(3):
        request_code(PHONE)
        _fail(3, code_for(outbox))
        clock.advance(1)
    request_code(PHONE)
    code = code_for(outbox)
    _fail(1, code)  # the 10th wrong code
    with pytest.raises(TooManyAttempts):
        confirm_code(PHONE, code, attempt_id=owners_attempt(PHONE))
    with pytest.raises(RateLimited):
        request_code(PHONE)


# --------------------------------------------------------------------------- cooldown


def test_resend_cooldown(outbox, clock):
    request_code(PHONE)

    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.retry_after == 60
    assert info.value.extra["retry_after"] == 60
    assert info.value.status == 429
    assert len(outbox) == 1
    refused = CallAttempt.objects.order_by("-pk").first()
    assert (refused.status, refused.reason, refused.channel) == ("refused", "cooldown", "none")
    assert refused.code_hash == ""

    clock.advance(59)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.retry_after == 1
    assert len(outbox) == 1

    clock.advance(1)
    request_code(PHONE)
    assert len(outbox) == 2


def test_cooldown_setting(outbox, clock, settings):
    settings.FLASHCALL_RESEND_COOLDOWN = 5
    request_code(PHONE)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.retry_after == 5
    clock.advance(5)
    request_code(PHONE)
    assert len(outbox) == 2


def test_cooldown_is_per_phone(outbox):
    request_code(phone(1))
    request_code(phone(2))
    assert len(outbox) == 2


# --------------------------------------------------------------------------- daily limit


def test_phone_daily_limit_is_a_rolling_24h(outbox, clock):
    start = clock.current
    for _ in range(3):
        request_code(PHONE)
        with pytest.raises(RateLimited):  # a cooldown refusal: not a call, not counted
            request_code(PHONE)
        clock.advance(61)
    # 3 calls at t, t+61, t+122; now t+183.
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.retry_after == DAY - 183
    assert len(outbox) == 3
    assert CallAttempt.objects.order_by("-pk").first().reason == "phone_daily_limit"

    clock.current = start + timedelta(seconds=DAY - 1)
    with pytest.raises(RateLimited):
        request_code(PHONE)
    clock.current = start + timedelta(seconds=DAY + 1)  # the call at t ages out
    request_code(PHONE)
    assert len(outbox) == 4

    # t+61, t+122 and t+DAY+1 are in the window until t+DAY+61.
    clock.current = start + timedelta(seconds=DAY + 61)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.reason == "phone_daily_limit"
    assert info.value.retry_after == 1
    clock.advance(1)
    request_code(PHONE)
    assert len(outbox) == 5


def test_daily_limit_setting(outbox, clock, settings):
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 1
    request_code(PHONE)
    clock.advance(3600)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.retry_after == DAY - 3600
    assert len(outbox) == 1


def test_failed_calls_count_against_the_daily_limit(scripted, clock, settings):
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 2
    scripted.failure = ProviderError("timeout", "no answer in time")  # may have been placed
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    clock.advance(61)
    scripted.failure = None
    request_code(PHONE)
    clock.advance(61)
    with pytest.raises(RateLimited):
        request_code(PHONE)
    assert len(scripted.calls) == 2


@pytest.mark.parametrize(
    "spellings",
    [
        ["+7 (924) 450-10-03", "89244501003", "9244501003", "７９２４４５０１００３"],
        ["8 924 450 10 03", "+79244501003", "(924) 450-10-03", "7.924.450.10.03"],
    ],
)
def test_every_spelling_shares_one_set_of_limits(outbox, clock, spellings):
    first, *others = spellings
    request_code(first)
    for other in others:
        with pytest.raises(RateLimited):
            request_code(other)
    assert len(outbox) == 1
    assert set(CallAttempt.objects.values_list("phone", flat=True)) == {PHONE}
    code = code_for(outbox)
    for other in others[:2]:
        with pytest.raises(InvalidCode):
            confirm_code(other, wrong(code), attempt_id=owners_attempt(other))
    assert confirm_code(others[-1], code, attempt_id=owners_attempt(others[-1])).phone == PHONE


# --------------------------------------------------------------------------- site budget


def test_site_daily_budget(outbox, clock, settings):
    settings.FLASHCALL_DAILY_BUDGET = 2
    start = clock.current
    request_code(phone(1))
    clock.advance(10)
    request_code(phone(2))
    clock.advance(10)

    with pytest.raises(RateLimited) as info:
        request_code(phone(3))
    assert info.value.retry_after == DAY - 20
    assert len(outbox) == 2
    refused = CallAttempt.objects.order_by("-pk").first()
    assert (refused.phone, refused.status, refused.reason) == (phone(3), "refused", "daily_budget")

    clock.current = start + timedelta(seconds=DAY + 1)  # the first call ages out
    request_code(phone(3))
    with pytest.raises(RateLimited):
        request_code(phone(4))
    assert len(outbox) == 3


def test_no_budget_by_default(outbox, settings):
    for i in range(12):
        request_code(phone(i))
    assert len(outbox) == 12


def test_zero_budget_refuses_every_call(outbox, settings):
    settings.FLASHCALL_DAILY_BUDGET = 0
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.reason == "daily_budget"
    assert outbox == []


def test_budget_counts_calls_in_flight(scripted, settings):
    settings.FLASHCALL_DAILY_BUDGET = 1
    inner = {}

    def second_request():
        with pytest.raises(RateLimited) as info:
            request_code(phone(2))
        inner["reason"] = info.value.reason

    scripted.during_call = second_request  # phone(1)'s call is still in flight
    request_code(phone(1))
    assert inner == {"reason": "daily_budget"}
    assert scripted.calls == [phone(1)]


def test_budget_does_not_count_a_finished_call_twice(outbox, settings):
    settings.FLASHCALL_DAILY_BUDGET = 2
    results = []

    def another_site_visitor(sender, attempt, **kwargs):
        # Runs after phone(1)'s row is written, as a concurrent request could.
        if attempt.phone == phone(1):
            try:
                results.append(request_code(phone(2)))
            except RateLimited as error:
                results.append(error)

    signals.code_requested.connect(another_site_visitor)
    try:
        request_code(phone(1))
    finally:
        signals.code_requested.disconnect(another_site_visitor)
    # Only one call had been placed, the budget is two: the second must go through.
    assert [type(r).__name__ for r in results] == ["CallAttempt"]
    assert len(outbox) == 2


# --------------------------------------------------------------------------- per-phone lock


def test_concurrent_request_for_the_same_phone_is_refused(scripted):
    inner = {}

    def same_phone_again():
        with pytest.raises(RateLimited) as info:
            request_code("8 924 450 10 03")
        inner["reason"] = info.value.reason

    scripted.during_call = same_phone_again
    request_code(PHONE)
    # The first call's row (status "calling") already holds the phone's cooldown.
    assert inner == {"reason": "cooldown"}
    assert scripted.calls == [PHONE]
    assert CallAttempt.objects.filter(reason="cooldown", status="refused").count() == 1
