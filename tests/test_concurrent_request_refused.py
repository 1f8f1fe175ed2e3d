"""A request for a phone whose previous request is still between its checks
and its paid call (the per-phone lock is held) is refused at once as
``concurrent_request``, with the cooldown as its wait; other phones go on.

The lock is held here the way a concurrent request holds it, through
``limits.phone_lock``; tests/test_concurrency.py races real threads."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import RateLimited
from django_flashcall.internal import limits
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.services import request_code
from tests.helpers import PHONE, phone

pytestmark = pytest.mark.django_db


def _refused_while_held(number: str) -> RateLimited:
    with limits.phone_lock(number):
        with pytest.raises(RateLimited) as info:
            request_code(number)
    return info.value


TEST_NUMBER = "79000000000"


@pytest.mark.parametrize("number", [PHONE, TEST_NUMBER])
@pytest.mark.parametrize(("cooldown", "wait"), [(60, 60), (0, 1)])
def test_a_request_while_another_holds_the_phone_is_refused(
    outbox, settings, cooldown, wait, number
):
    settings.FLASHCALL_RESEND_COOLDOWN = cooldown
    settings.FLASHCALL_TEST_NUMBERS = {TEST_NUMBER: "1234"}
    error = _refused_while_held(number)
    assert (error.reason, error.retry_after) == (Reason.BUSY, wait)
    assert outbox == []
    refused = CallAttempt.objects.get()
    assert (refused.status, refused.reason) == (Status.REFUSED, Reason.BUSY)
    # Released: the phone gets its code.
    assert request_code(number).status == Status.PENDING


def test_the_refusal_comes_at_once_without_waiting_for_the_lock(outbox, monkeypatch):
    def waited(seconds: float) -> None:
        raise AssertionError(f"a request for a busy phone waited {seconds} s for the lock")

    monkeypatch.setattr(limits.time, "sleep", waited)
    assert _refused_while_held(PHONE).reason == Reason.BUSY


def test_the_lock_holds_one_phone_only(outbox, settings):
    settings.FLASHCALL_TEST_NUMBERS = {TEST_NUMBER: "1234"}
    other = phone(1)
    with limits.phone_lock(PHONE):
        assert request_code(other).status == Status.PENDING
        assert request_code(TEST_NUMBER).status == Status.PENDING
    assert [call.phone for call in outbox] == [other]
