"""``FlashCallDevice`` before it is saved, with no call waiting, and with a
phone it cannot call (SPEC §9): what a site using django-otp directly, or
the admin's form, meets."""

from __future__ import annotations

import pytest

pytest.importorskip("django_otp")

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402

from django_flashcall.contrib.otp.models import FlashCallDevice  # noqa: E402
from django_flashcall.models import CallAttempt, Status  # noqa: E402
from tests.helpers import PHONE, code_for  # noqa: E402


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="alice", password="pw-alice-1")


def test_an_unsaved_device_keeps_its_call_until_it_is_saved(user, outbox):
    device = FlashCallDevice(user=user, name="phone", phone="8 (924) 450-10-03")
    device.generate_challenge()
    assert [call.phone for call in outbox] == [PHONE]
    assert not FlashCallDevice.objects.exists()  # nothing written for it...
    attempt = CallAttempt.objects.get()
    assert device.attempt_id == attempt.public_id  # ...but the call is not lost
    device.save()
    assert FlashCallDevice.objects.get().attempt_id == attempt.public_id
    assert device.verify_token(code_for(outbox)) is True
    attempt.refresh_from_db()
    assert (attempt.status, attempt.user_id) == (Status.VERIFIED, user.pk)


def test_a_device_with_no_call_waiting_is_not_locked_and_takes_no_code(user, outbox):
    device = FlashCallDevice.objects.create(user=user, name="phone", phone=PHONE)
    # django-otp's forms ask first: nothing is locked, so the form may go on...
    assert device.verify_is_allowed() == (True, None)
    # ...and then no code passes, since no call was placed.
    assert device.verify_token("1234") is False
    assert not CallAttempt.objects.exists()


@pytest.mark.parametrize("phone", ["+1 415 555 0100", "8 (495) 123-45-67", "12"])
def test_a_phone_that_cannot_be_called_fails_validation(user, phone):
    device = FlashCallDevice(user=user, name="phone", phone=phone)
    with pytest.raises(ValidationError) as error:
        device.full_clean()
    assert [e.code for e in error.value.error_dict["phone"]] == ["invalid_phone"]
