"""A new code for a ``FLASHCALL_TEST_NUMBERS`` phone replaces its live one,
as a new call does for any phone: one live code per phone. The phone's
other attempts, and other phones' codes, stay as they were."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import CodeExpired
from django_flashcall.models import CallAttempt, Status
from django_flashcall.services import confirm_code, request_code
from tests.helpers import phone, row

pytestmark = pytest.mark.django_db

TEST_NUMBER = "79000000000"


@pytest.fixture
def test_number(settings, outbox):
    settings.FLASHCALL_TEST_NUMBERS = {TEST_NUMBER: "1234"}
    settings.FLASHCALL_RESEND_COOLDOWN = 0


def test_a_new_code_replaces_the_live_one(test_number, clock):
    first = request_code(TEST_NUMBER)
    clock.advance(1)
    second = request_code(TEST_NUMBER)
    assert (row(first).status, row(second).status) == (Status.EXPIRED, Status.PENDING)
    with pytest.raises(CodeExpired):
        confirm_code(code="1234", attempt_id=str(first.public_id))
    assert confirm_code(code="1234", attempt_id=str(second.public_id)).status == Status.VERIFIED


def test_a_code_asked_for_in_the_same_instant_is_replaced_too(test_number, clock):
    first = request_code(TEST_NUMBER)
    second = request_code(TEST_NUMBER)  # the clock has not moved
    assert (row(first).status, row(second).status) == (Status.EXPIRED, Status.PENDING)


def test_the_phones_used_codes_and_other_phones_codes_stay(test_number, clock):
    used = request_code(TEST_NUMBER)
    confirm_code(TEST_NUMBER, "1234")
    other = request_code(phone(1))
    clock.advance(1)
    live = request_code(TEST_NUMBER)
    clock.advance(1)
    newest = request_code(TEST_NUMBER)  # replaces live
    assert (row(live).status, row(newest).status) == (Status.EXPIRED, Status.PENDING)
    assert row(used).status == Status.VERIFIED
    assert row(other).status == Status.PENDING
    assert CallAttempt.objects.filter(status=Status.PENDING).count() == 2
