"""django-allauth's own pages, with phone login and signup verified by flash
call (SPEC §9). Real allauth views, the sandbox provider, the test client."""

from __future__ import annotations

import pytest

pytest.importorskip("allauth")

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.messages import get_messages  # noqa: E402

from django_flashcall.exceptions import LIMIT_DETAILS  # noqa: E402
from django_flashcall.models import CallAttempt, PhoneNumber, Reason, Status  # noqa: E402
from tests.helpers import PHONE, code_for, wrong  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SIGNUP = "/accounts/signup/"
LOGIN = "/accounts/login/"
VERIFY = "/accounts/phone/verify/"
CONFIRM_LOGIN = "/accounts/login/code/confirm/"


def make_user(phone: str = PHONE):
    user = get_user_model().objects.create_user(username=f"u{phone}", password=None)
    PhoneNumber.objects.create(user=user, phone=phone)
    return user


def logged_in_user(client):
    from django.contrib.auth import get_user

    return get_user(client)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("spelling", ["8 924 450-10-03", "+7 (924) 450-10-03", "9244501003"])
def test_signup_by_phone_verified_by_flash_call(client, outbox, spelling):
    response = client.post(SIGNUP, {"phone": spelling})
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    # One call, through the services: a pending attempt row, no user yet on it.
    assert [call.phone for call in outbox] == [PHONE]
    attempt = CallAttempt.objects.get()
    assert attempt.status == Status.PENDING
    user = get_user_model().objects.get()
    assert not PhoneNumber.objects.exists()  # not verified yet: not stored

    page = client.get(VERIFY)
    assert page.status_code == 200
    response = client.post(VERIFY, {"code": code_for(outbox)})
    assert response.status_code == 302, response.content
    assert logged_in_user(client).pk == user.pk
    link = PhoneNumber.objects.get()
    assert (link.user_id, link.phone) == (user.pk, PHONE)
    attempt.refresh_from_db()
    assert attempt.status == Status.VERIFIED
    assert attempt.user_id == user.pk


def test_signup_wrong_code_is_refused_and_the_attempt_stays_pending(client, outbox):
    client.post(SIGNUP, {"phone": PHONE})
    response = client.post(VERIFY, {"code": wrong(code_for(outbox))})
    assert response.status_code == 200
    assert "incorrect" in response.content.decode().lower()
    assert not logged_in_user(client).is_authenticated
    assert not PhoneNumber.objects.exists()
    assert CallAttempt.objects.get().status == Status.PENDING


def test_signup_with_a_phone_of_another_account_places_no_call(client, outbox):
    make_user()
    client.post(SIGNUP, {"phone": "8 924 450 10 03"})
    # allauth hides whether the number is known (enumeration): no call either way.
    assert outbox == []
    assert not CallAttempt.objects.exists()


def test_login_by_phone(client, outbox):
    user = make_user()
    response = client.post(LOGIN, {"login": "8 (924) 450-10-03"})
    assert response.status_code == 302
    assert response["Location"].startswith(CONFIRM_LOGIN)
    assert [call.phone for call in outbox] == [PHONE]
    response = client.post(CONFIRM_LOGIN, {"code": code_for(outbox)})
    assert response.status_code == 302
    assert logged_in_user(client).pk == user.pk
    attempt = CallAttempt.objects.get()
    assert (attempt.status, attempt.user_id) == (Status.VERIFIED, user.pk)


def test_login_with_an_unknown_phone_places_no_call(client, outbox):
    response = client.post(LOGIN, {"login": PHONE})
    # The same answer as for a known phone, but nothing paid for.
    assert response.status_code == 302
    assert response["Location"].startswith(CONFIRM_LOGIN)
    assert outbox == []
    assert not CallAttempt.objects.exists()


def test_login_refused_by_the_cooldown_places_no_second_call(client, outbox):
    make_user()
    client.post(LOGIN, {"login": PHONE})
    other = type(client)()
    response = other.post(LOGIN, {"login": PHONE})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert len(outbox) == 1
    refused = CallAttempt.objects.get(status=Status.REFUSED)
    assert refused.reason == Reason.COOLDOWN
    assert str(LIMIT_DETAILS["cooldown"]) in messages_of(response)


def test_a_code_past_flashcall_ttl_is_refused_though_allauth_would_accept_it(
    client, outbox, clock, settings
):
    make_user()
    settings.FLASHCALL_CODE_TTL = 60
    client.post(LOGIN, {"login": PHONE})
    clock.advance(61)
    response = client.post(CONFIRM_LOGIN, {"code": code_for(outbox)})
    assert not logged_in_user(client).is_authenticated
    assert response.status_code == 302
    assert CallAttempt.objects.get().status == Status.EXPIRED
    assert any("expired" in m for m in messages_of(response))


def test_with_a_user_phone_field_the_phone_lands_on_the_user(client, outbox, settings):
    settings.FLASHCALL_USER_PHONE_FIELD = "phone"
    client.post(SIGNUP, {"phone": "8 924 450-10-03"})
    client.post(VERIFY, {"code": code_for(outbox)})
    user = get_user_model().objects.get()
    assert user.phone == PHONE
    assert not PhoneNumber.objects.exists()
    assert logged_in_user(client).pk == user.pk


def test_changing_the_phone_verifies_the_new_one_and_replaces_the_old(client, outbox, clock):
    user = make_user()
    client.post(LOGIN, {"login": PHONE})
    client.post(CONFIRM_LOGIN, {"code": code_for(outbox)})
    assert logged_in_user(client).pk == user.pk

    new = "79161234567"
    response = client.post("/accounts/phone/change/", {"phone": "8 916 123-45-67"})
    assert response.status_code == 302, response.content.decode()[:500]
    assert [call.phone for call in outbox] == [PHONE, new]
    assert PhoneNumber.objects.get().phone == PHONE  # not before its call is answered
    response = client.post(response["Location"], {"code": code_for(outbox, new)})
    assert response.status_code == 302, response.content.decode()[:500]
    assert list(PhoneNumber.objects.values_list("user_id", "phone")) == [(user.pk, new)]
    assert CallAttempt.objects.filter(phone=new).get().status == Status.VERIFIED


def test_wrong_codes_typed_into_allauth_count_against_the_call(client, outbox, settings):
    settings.ACCOUNT_LOGIN_BY_CODE_MAX_ATTEMPTS = 5  # allauth would allow more...
    settings.FLASHCALL_MAX_CHECKS = 2  # ...than this app does
    make_user()
    client.post(LOGIN, {"login": PHONE})
    code = code_for(outbox)
    client.post(CONFIRM_LOGIN, {"code": "12"})  # not a code: costs no check
    assert CallAttempt.objects.get().checks_used == 0
    client.post(CONFIRM_LOGIN, {"code": wrong(code)})
    assert CallAttempt.objects.get().checks_used == 1
    client.post(CONFIRM_LOGIN, {"code": wrong(wrong(code))})
    assert CallAttempt.objects.get().status == Status.EXHAUSTED
    # allauth still takes the right code; this app does not, and says why.
    response = client.post(CONFIRM_LOGIN, {"code": code})
    assert not logged_in_user(client).is_authenticated
    assert any("Too many wrong codes" in m for m in messages_of(response))
