"""django-otp: ``FlashCallDevice`` under the services' rules (SPEC §9), and a
view behind django-otp's ``otp_required`` reached through django-otp's own
``LoginView`` and ``OTPTokenForm``."""

from __future__ import annotations

import pytest

pytest.importorskip("django_otp")

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import transaction  # noqa: E402
from django_otp.models import GenerateNotAllowed, VerifyNotAllowed  # noqa: E402

from django_flashcall.conf import flashcall_settings  # noqa: E402
from django_flashcall.contrib.otp.models import FlashCallDevice  # noqa: E402
from django_flashcall.exceptions import LIMIT_DETAILS  # noqa: E402
from django_flashcall.models import CallAttempt, Reason, Status  # noqa: E402
from tests.helpers import PHONE, code_for, scrub, wrong  # noqa: E402


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(username="alice", password="pw-alice-1")


@pytest.fixture
def device(user):
    return FlashCallDevice.objects.create(user=user, name="phone", phone="8 (924) 450-10-03")


def test_the_phone_is_stored_in_one_form(device):
    device.refresh_from_db()
    assert device.phone == PHONE
    assert PHONE not in str(device)  # masked wherever it is printed


def test_generate_challenge_places_a_call_through_the_services(device, outbox):
    message = device.generate_challenge()
    assert [call.phone for call in outbox] == [PHONE]
    attempt = CallAttempt.objects.get()
    assert attempt.status == Status.PENDING
    device.refresh_from_db()
    assert device.attempt_id == attempt.public_id
    assert "last 4 digits" in message
    assert code_for(outbox) not in message


def test_verify_token_right_code_once(device, outbox, user):
    device.generate_challenge()
    code = code_for(outbox)
    assert device.verify_token(code) is True
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.user_id) == (Status.VERIFIED, user.pk)
    device.refresh_from_db()
    assert device.attempt_id is None and device.last_used_at is not None
    assert device.verify_token(code) is False  # single use


def test_wrong_codes_count_and_exhaust_the_call(device, outbox):
    device.generate_challenge()
    code = code_for(outbox)
    for _ in range(flashcall_settings.MAX_CHECKS):
        assert device.verify_token(wrong(code)) is False
    assert CallAttempt.objects.get().status == Status.EXHAUSTED
    allowed, info = device.verify_is_allowed()
    assert allowed is False and "error_message" in info
    assert device.verify_token(code) is False


def test_non_codes_cost_no_check(device, outbox):
    device.generate_challenge()
    for token in ["123456", "12a4", "", 1234, None]:
        assert device.verify_token(token) is False
    assert CallAttempt.objects.get().checks_used == 0


def test_an_expired_code_is_refused(device, outbox, clock, settings):
    settings.FLASHCALL_CODE_TTL = 60
    device.generate_challenge()
    clock.advance(61)
    assert device.verify_token(code_for(outbox)) is False
    assert CallAttempt.objects.get().status == Status.EXPIRED


def test_the_cooldown_refuses_a_second_call(device, outbox, clock):
    device.generate_challenge()
    allowed, info = device.generate_is_allowed()
    assert allowed is False
    assert info["reason"] == GenerateNotAllowed.COOLDOWN_DURATION_PENDING
    assert info["retry_after"] == 60
    message = device.generate_challenge()
    assert message == str(LIMIT_DETAILS["cooldown"])
    assert len(outbox) == 1
    clock.advance(61)
    assert device.generate_is_allowed() == (True, None)


def test_a_locked_phone_may_not_verify(device, outbox, clock, settings):
    settings.FLASHCALL_PHONE_MAX_FAILURES = 2
    device.generate_challenge()
    code = code_for(outbox)
    device.verify_token(wrong(code))
    device.verify_token(wrong(code))
    allowed, info = device.verify_is_allowed()
    assert allowed is False
    assert info["reason"] == VerifyNotAllowed.N_FAILED_ATTEMPTS
    assert info["failure_count"] == 2
    assert device.verify_token(code) is False
    assert CallAttempt.objects.get().status == Status.PENDING  # never compared
    assert device.generate_is_allowed()[0] is False  # and no new call either


def test_a_refusal_is_recorded_and_returned_as_the_message(device, outbox, settings):
    settings.FLASHCALL_DAILY_BUDGET = 0
    message = device.generate_challenge()
    assert outbox == []
    assert CallAttempt.objects.get().reason == Reason.BUDGET
    assert message == str(LIMIT_DETAILS["daily_budget"])
    device.refresh_from_db()
    assert device.attempt_id is None


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_the_call_waits_for_the_commit(outbox):
    user = get_user_model().objects.create_user(username="bob", password="pw")
    device = FlashCallDevice.objects.create(user=user, name="phone", phone=PHONE)
    with transaction.atomic():
        message = device.generate_challenge()
        assert outbox == [] and not CallAttempt.objects.exists()
    assert "last 4 digits" in message
    assert [call.phone for call in outbox] == [PHONE]
    device.refresh_from_db()
    assert device.attempt_id == CallAttempt.objects.get().public_id

    with pytest.raises(RuntimeError), transaction.atomic():
        device.generate_challenge()
        raise RuntimeError("rolled back")
    assert len(outbox) == 1  # a rolled-back challenge places no call


@pytest.mark.django_db(transaction=True)
def test_otp_protected_view_after_django_otps_own_login_view(client, outbox):
    """Password first, then django-otp's ``OTPTokenForm``: ask for the call
    (its challenge button), type the code, reach the ``otp_required`` view."""
    user = get_user_model().objects.create_user(username="carol", password="pw-carol-1")
    device = FlashCallDevice.objects.create(user=user, name="phone", phone=PHONE)
    client.force_login(user)
    response = client.get("/otp/protected/")
    assert response.status_code == 302 and response["Location"].startswith("/otp/login/")

    response = client.post(
        "/otp/login/", {"otp_device": device.persistent_id, "otp_challenge": "1"}
    )
    assert response.status_code == 200
    assert "We are calling" in response.content.decode()
    code = code_for(outbox)

    response = client.post(
        "/otp/login/", {"otp_device": device.persistent_id, "otp_token": wrong(code)}
    )
    assert response.status_code == 200
    assert client.get("/otp/protected/").status_code == 302

    response = client.post("/otp/login/", {"otp_device": device.persistent_id, "otp_token": code})
    assert response.status_code == 302
    response = client.get("/otp/protected/")
    assert response.status_code == 200
    assert response.content == b"secret for carol"
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.checks_used, attempt.user_id) == (Status.VERIFIED, 1, user.pk)


@pytest.mark.django_db(transaction=True)
def test_admin_lists_devices_with_masked_phones(admin_client, outbox):
    user = get_user_model().objects.create_user(username="dave", password="pw")
    device = FlashCallDevice.objects.create(user=user, name="phone", phone=PHONE)
    device.generate_challenge()
    page = admin_client.get("/admin/otp_flashcall/flashcalldevice/").content.decode()
    assert "dave" in page and PHONE not in page
    page = admin_client.get(f"/admin/otp_flashcall/flashcalldevice/{device.pk}/change/")
    assert page.status_code == 200
    device.refresh_from_db()
    assert code_for(outbox) not in scrub(page.content.decode(), str(device.attempt_id))
