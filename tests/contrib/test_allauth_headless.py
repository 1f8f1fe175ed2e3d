"""django-allauth's headless API (browser client), with phone login and signup
verified by flash call (SPEC §9)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("allauth.headless")

from django.contrib.auth import get_user_model  # noqa: E402

from django_flashcall.models import CallAttempt, PhoneNumber, Reason, Status  # noqa: E402
from tests.helpers import PHONE, code_for, wrong  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

API = "/_allauth/browser/v1"


def post(client, path, body):
    response = client.post(API + path, json.dumps(body), content_type="application/json")
    return response, response.json()


def pending_flow(data) -> str | None:
    flows = data.get("data", {}).get("flows", [])
    return next((f["id"] for f in flows if f.get("is_pending")), None)


def make_user(phone: str = PHONE):
    user = get_user_model().objects.create_user(username=f"u{phone}", password=None)
    PhoneNumber.objects.create(user=user, phone=phone)
    return user


def test_headless_login_by_phone(client, outbox):
    user = make_user()
    response, data = post(client, "/auth/code/request", {"phone": "8 924 450-10-03"})
    assert response.status_code == 401, data
    assert pending_flow(data) == "login_by_code"
    assert [call.phone for call in outbox] == [PHONE]

    response, data = post(client, "/auth/code/confirm", {"code": wrong(code_for(outbox))})
    assert response.status_code == 400
    assert data["errors"][0]["code"] == "incorrect_code"

    response, data = post(client, "/auth/code/confirm", {"code": code_for(outbox)})
    assert response.status_code == 200, data
    assert data["data"]["user"]["id"] == user.pk
    assert data["meta"]["is_authenticated"] is True
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.user_id) == (Status.VERIFIED, user.pk)


def test_headless_signup_by_phone(client, outbox):
    response, data = post(client, "/auth/signup", {"phone": "+7 924 450 10 03"})
    assert response.status_code == 401, data
    assert pending_flow(data) == "verify_phone"
    assert [call.phone for call in outbox] == [PHONE]
    assert not PhoneNumber.objects.exists()

    response, data = post(client, "/auth/phone/verify", {"code": code_for(outbox)})
    assert response.status_code == 200, data
    user = get_user_model().objects.get()
    assert data["data"]["user"]["id"] == user.pk
    assert PhoneNumber.objects.get().user_id == user.pk
    assert CallAttempt.objects.get().status == Status.VERIFIED


def test_headless_unknown_phone_places_no_call(client, outbox):
    response, data = post(client, "/auth/code/request", {"phone": PHONE})
    # The same answer as for a known phone (enumeration), and no paid call.
    assert response.status_code == 401
    assert pending_flow(data) == "login_by_code"
    assert outbox == []
    assert not CallAttempt.objects.exists()


def test_headless_rejects_what_section_6_rejects(client, outbox):
    make_user()
    response, data = post(client, "/auth/code/request", {"phone": "+1 202 555 0100"})
    assert response.status_code == 400
    assert data["errors"][0]["param"] == "phone"
    assert outbox == []


def test_headless_refusal_is_json_with_retry_after(client, outbox):
    make_user()
    post(client, "/auth/code/request", {"phone": PHONE})
    other = type(client)()
    response, data = post(other, "/auth/code/request", {"phone": PHONE})
    assert response.status_code == 429
    assert data["errors"][0]["code"] == "rate_limited"
    assert int(response["Retry-After"]) > 0
    assert len(outbox) == 1
    assert CallAttempt.objects.filter(status=Status.REFUSED, reason=Reason.COOLDOWN).count() == 1


def test_headless_resend_places_a_new_call_only_after_the_cooldown(client, outbox, clock, settings):
    settings.ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
    make_user()
    post(client, "/auth/code/request", {"phone": PHONE})
    first = code_for(outbox)

    response = client.post(API + "/auth/code/resend")
    assert response.status_code == 429  # allauth's answer to our cooldown
    assert len(outbox) == 1

    clock.advance(61)  # FLASHCALL_RESEND_COOLDOWN is 60 s
    response = client.post(API + "/auth/code/resend")
    assert response.status_code == 200
    assert len(outbox) == 2
    second = code_for(outbox)
    # The newest call's code is the one that logs in; the first one is superseded.
    if second != first:
        response, data = post(client, "/auth/code/confirm", {"code": first})
        assert response.status_code == 400
    response, data = post(client, "/auth/code/confirm", {"code": second})
    assert response.status_code == 200, data
    statuses = sorted(CallAttempt.objects.values_list("status", flat=True))
    assert statuses == sorted([Status.EXPIRED, Status.VERIFIED, Status.REFUSED])


def test_headless_wrong_codes_count_against_the_call(client, outbox):
    make_user()
    post(client, "/auth/code/request", {"phone": PHONE})
    post(client, "/auth/code/confirm", {"code": wrong(code_for(outbox))})
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.checks_used) == (Status.PENDING, 1)
