"""django-two-factor-auth's setup wizard off the straight path (SPEC §9): a
bad phone, a changed phone, a skipped phone step, a used-up call, and the
other method (TOTP) finished by the same view."""

from __future__ import annotations

from base64 import b32decode

import pytest

pytest.importorskip("two_factor")

from django.contrib.auth import get_user_model  # noqa: E402
from django_otp.oath import totp  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

from django_flashcall.contrib.otp.models import FlashCallDevice  # noqa: E402
from django_flashcall.exceptions import NoActiveAttempt  # noqa: E402
from django_flashcall.models import CallAttempt, Status  # noqa: E402
from tests.helpers import PHONE, code_for, wrong  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SETUP = "/account/two_factor/setup/"
COMPLETE = "/account/two_factor/setup/complete/"
PREFIX = "flash_call_setup_view"
OTHER = "79161234567"


def step(client, current, data):
    body = {f"{PREFIX}-current_step": current}
    body.update({f"{current}-{key}": value for key, value in data.items()})
    return client.post(SETUP, body)


@pytest.fixture
def wizard(client):
    user = get_user_model().objects.create_user(username="erin", password="pw-erin-1")
    client.force_login(user)
    client.get(SETUP)
    step(client, "welcome", {})
    return client


def choose_flashcall(client):
    response = step(client, "method", {"method": "flashcall"})
    assert 'name="flashcall-phone"' in response.content.decode()


def test_a_phone_that_cannot_be_called_is_refused_before_any_call(wizard, outbox):
    choose_flashcall(wizard)
    response = step(wizard, "flashcall", {"phone": "+1 415 555 0100"})
    assert 'name="flashcall-phone"' in response.content.decode()  # the same step again
    assert "errorlist" in response.content.decode()
    assert outbox == [] and not FlashCallDevice.objects.exists()


def test_going_back_to_another_phone_calls_it_and_forgets_the_first_call(wizard, outbox):
    choose_flashcall(wizard)
    step(wizard, "flashcall", {"phone": PHONE})
    first_code = code_for(outbox, PHONE)
    step(wizard, "flashcall", {"phone": "8 916 123-45-67"})
    assert [call.phone for call in outbox] == [PHONE, OTHER]
    device = FlashCallDevice.objects.get()
    pending = CallAttempt.objects.get(phone=OTHER)
    assert (device.phone, device.attempt_id) == (OTHER, pending.public_id)

    response = step(wizard, "flashcall_code", {"token": first_code})
    assert "The code is wrong" in response.content.decode()
    response = step(wizard, "flashcall_code", {"token": code_for(outbox, OTHER)})
    assert response["Location"] == COMPLETE
    device.refresh_from_db()
    assert (device.phone, device.confirmed) == (OTHER, True)
    assert CallAttempt.objects.get(phone=PHONE).status == Status.PENDING


def test_skipping_the_phone_step_confirms_nothing(wizard, outbox):
    choose_flashcall(wizard)
    # A hand-made POST straight to the code step: no phone, so no call to check.
    response = step(wizard, "flashcall_code", {"token": "1234"})
    assert response.status_code == 200  # not a 500 on a device with no phone
    assert str(NoActiveAttempt.default_detail) in response.content.decode()
    assert outbox == []
    assert not FlashCallDevice.objects.filter(confirmed=True).exists()


def test_a_used_up_call_says_so_even_for_its_right_code(wizard, outbox, settings):
    settings.FLASHCALL_MAX_CHECKS = 1
    choose_flashcall(wizard)
    step(wizard, "flashcall", {"phone": PHONE})
    code = code_for(outbox)
    step(wizard, "flashcall_code", {"token": wrong(code)})
    assert CallAttempt.objects.get().status == Status.EXHAUSTED
    response = step(wizard, "flashcall_code", {"token": code})
    assert "Too many wrong codes" in response.content.decode()
    assert FlashCallDevice.objects.get().confirmed is False


def test_the_totp_method_is_still_finished_by_two_factor(wizard, outbox):
    response = step(wizard, "method", {"method": "generator"})
    assert 'name="generator-token"' in response.content.decode()
    key = b32decode(wizard.session["django_two_factor-qr_secret_key"])
    response = step(wizard, "generator", {"token": f"{totp(key):06d}"})
    assert response.status_code == 302
    assert response["Location"] == COMPLETE
    assert TOTPDevice.objects.get().confirmed is True
    assert outbox == [] and not FlashCallDevice.objects.exists()
