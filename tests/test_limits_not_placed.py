"""A provider failure that surely placed no call (a refused connection, a
rejected token) costs the user nothing: no cooldown, no daily call, no share
of the site budget (SPEC §6). One that may have placed a call counts. And a
wait is never rounded down (``Retry-After`` whole seconds, SPEC §4).

The telefon-ip client talks to the loopback fake (or to a closed port)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_flashcall.exceptions import ProviderUnavailable, RateLimited
from django_flashcall.internal import limits
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.services import request_code
from django_flashcall.testing.fake_telefonip import refused_url
from tests.helpers import PHONE

pytestmark = pytest.mark.django_db


def break_provider(how: str, fake, settings) -> None:
    if how == "refused":
        settings.FLASHCALL_API_URL = refused_url()
    elif how == "unauthorized":
        settings.FLASHCALL_API_TOKEN = "not-the-fakes-token"  # noqa: S105
    else:
        fake.set_fault(how)


def mend_provider(fake, settings) -> None:
    settings.FLASHCALL_API_URL = fake.url
    settings.FLASHCALL_API_TOKEN = fake.token
    fake.set_fault(None)


@pytest.fixture
def strict(settings, fake_telefonip, clock):
    """Every limit at one call: cooldown, per phone per day, site budget."""
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 1
    settings.FLASHCALL_DAILY_BUDGET = 1
    settings.FLASHCALL_BREAKER_THRESHOLD = 100
    return fake_telefonip


@pytest.mark.parametrize(
    ("how", "reason"), [("refused", Reason.CONNECTION), ("unauthorized", Reason.UNAUTHORIZED)]
)
def test_a_failure_that_placed_no_call_leaves_the_limits_untouched(
    strict, settings, clock, how, reason
):
    break_provider(how, strict, settings)
    for _ in range(3):
        with pytest.raises(ProviderUnavailable):
            request_code(PHONE)
    failed = CallAttempt.objects.filter(status=Status.FAILED)
    assert list(failed.values_list("reason", flat=True)) == [reason] * 3

    mend_provider(strict, settings)
    attempt = request_code(PHONE)  # same second: no cooldown, no daily call, budget intact
    assert attempt.status == Status.PENDING
    assert len(strict.calls) == 1
    # The one real call then holds every limit.
    clock.advance(61)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.reason == Reason.PHONE_DAILY
    with pytest.raises(RateLimited) as info:
        request_code("79244501004")
    assert info.value.reason == Reason.BUDGET


@pytest.mark.parametrize("how", ["server_error", "drop"])
def test_a_failure_that_may_have_placed_a_call_counts(strict, settings, clock, how):
    break_provider(how, strict, settings)
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    mend_provider(strict, settings)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.reason == Reason.COOLDOWN
    clock.advance(61)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.reason == Reason.PHONE_DAILY
    with pytest.raises(RateLimited) as info:
        request_code("79244501004")
    assert info.value.reason == Reason.BUDGET
    assert strict.calls == []


# --------------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("left", "expected"), [(0.001, 1), (0.5, 1), (1.0, 1), (1.2, 2), (59.5, 60), (60.0, 60)]
)
def test_seconds_until_rounds_up(left, expected):
    at = CallAttempt().created_at
    assert limits.seconds_until(at + timedelta(seconds=left), at) == expected


def test_seconds_until_is_at_least_one():
    at = CallAttempt().created_at
    assert limits.seconds_until(at, at) == 1
    assert limits.seconds_until(at - timedelta(seconds=5), at) == 1


def test_a_cooldown_wait_is_rounded_up(outbox, clock, settings):
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    request_code(PHONE)
    clock.advance(58.5)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert (info.value.reason, info.value.retry_after) == (Reason.COOLDOWN, 2)
    clock.advance(1.2)
    with pytest.raises(RateLimited) as info:
        request_code(PHONE)
    assert info.value.retry_after == 1
    clock.advance(0.3)
    assert request_code(PHONE).status == Status.PENDING
