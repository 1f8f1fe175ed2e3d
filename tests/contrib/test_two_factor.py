"""django-two-factor-auth's setup wizard and login with the ``flashcall``
method (SPEC §9), through two-factor's own views and templates."""

from __future__ import annotations

import pytest

pytest.importorskip("two_factor")

from django.contrib.auth import get_user_model  # noqa: E402
from two_factor.plugins.registry import registry  # noqa: E402

from django_flashcall.contrib.otp.models import FlashCallDevice  # noqa: E402
from django_flashcall.exceptions import LIMIT_DETAILS  # noqa: E402
from django_flashcall.models import CallAttempt, Status  # noqa: E402
from tests.helpers import PHONE, code_for, scrub, wrong  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SETUP = "/account/two_factor/setup/"
LOGIN = "/account/login/"


def step(client, url, prefix, current, data):
    body = {f"{prefix}-current_step": current}
    body.update({f"{current}-{key}": value for key, value in data.items()})
    return client.post(url, body)


def log_in_with_password(client, username, password):
    return step(client, LOGIN, "login_view", "auth", {"username": username, "password": password})


def setup_device(client, outbox, phone="8 924 450-10-03"):
    prefix = "flash_call_setup_view"
    assert client.get(SETUP).status_code == 200
    step(client, SETUP, prefix, "welcome", {})
    response = step(client, SETUP, prefix, "method", {"method": "flashcall"})
    assert 'name="flashcall-phone"' in response.content.decode()
    response = step(client, SETUP, prefix, "flashcall", {"phone": phone})
    page = response.content.decode()
    assert 'name="flashcall_code-token"' in page
    assert "We are calling" in page
    return response


def test_the_method_is_registered():
    assert registry.get_method("flashcall").verbose_name == "Flash call"


def test_setup_then_login(client, outbox, clock):
    user = get_user_model().objects.create_user(username="erin", password="pw-erin-1")
    client.force_login(user)
    setup_device(client, outbox)
    assert [call.phone for call in outbox] == [PHONE]
    device = FlashCallDevice.objects.get()
    assert (device.phone, device.confirmed, device.name) == (PHONE, False, "default")

    prefix = "flash_call_setup_view"
    response = step(client, SETUP, prefix, "flashcall_code", {"token": wrong(code_for(outbox))})
    assert "The code is wrong" in response.content.decode()
    response = step(client, SETUP, prefix, "flashcall_code", {"token": code_for(outbox)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/account/two_factor/setup/complete/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert CallAttempt.objects.get().status == Status.VERIFIED

    # Later, another browser: password, then the call, then its code.
    clock.advance(61)
    other = type(client)()
    response = step(
        other, LOGIN, "login_view", "auth", {"username": "erin", "password": "pw-erin-1"}
    )
    page = response.content.decode()
    assert 'name="token-otp_token"' in page
    assert "We are calling" in page
    assert len(outbox) == 2
    code = code_for(outbox)
    assert code not in scrub(page, PHONE)
    response = step(other, LOGIN, "login_view", "token", {"otp_token": code})
    assert response.status_code == 302
    from django.contrib.auth import get_user

    logged_in = get_user(other)
    assert logged_in.pk == user.pk
    attempts = CallAttempt.objects.order_by("created_at")
    assert [a.status for a in attempts] == [Status.VERIFIED, Status.VERIFIED]
    assert attempts[1].user_id == user.pk


def test_login_token_step_refuses_six_digits_and_counts_wrong_codes(client, outbox, clock):
    user = get_user_model().objects.create_user(username="fay", password="pw-fay-1")
    FlashCallDevice.objects.create(user=user, name="default", phone=PHONE)
    log_in_with_password(client, "fay", "pw-fay-1")
    code = code_for(outbox)
    response = step(client, LOGIN, "login_view", "token", {"otp_token": code + "00"})
    assert response.status_code == 200
    assert CallAttempt.objects.get().checks_used == 0  # not a code: no check spent
    response = step(client, LOGIN, "login_view", "token", {"otp_token": wrong(code)})
    assert response.status_code == 200
    assert CallAttempt.objects.get().checks_used == 1
    assert len(outbox) == 1  # a wrong code does not place another call


def test_login_during_the_cooldown_says_so_and_places_no_call(client, outbox):
    user = get_user_model().objects.create_user(username="gil", password="pw-gil-1")
    device = FlashCallDevice.objects.create(user=user, name="default", phone=PHONE)
    device.generate_challenge()
    response = step(
        client, LOGIN, "login_view", "auth", {"username": "gil", "password": "pw-gil-1"}
    )
    assert str(LIMIT_DETAILS["cooldown"]) in response.content.decode()
    assert len(outbox) == 1
