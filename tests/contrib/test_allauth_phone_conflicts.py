"""django-allauth's pages when the phone is someone's already: the user's own
current phone, another account's, or one taken while its call was answered
(SPEC §9). Real allauth views, the sandbox provider, the test client."""

from __future__ import annotations

import pytest

pytest.importorskip("allauth")

from django.contrib.auth import get_user, get_user_model  # noqa: E402

from django_flashcall.models import CallAttempt, PhoneNumber, Status  # noqa: E402
from tests.helpers import PHONE, code_for, wrong  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

SIGNUP = "/accounts/signup/"
LOGIN = "/accounts/login/"
VERIFY = "/accounts/phone/verify/"
CONFIRM_LOGIN = "/accounts/login/code/confirm/"
CHANGE = "/accounts/phone/change/"
OTHER = "79161234567"


def make_user(phone: str):
    user = get_user_model().objects.create_user(username=f"u{phone}", password=None)
    PhoneNumber.objects.create(user=user, phone=phone)
    return user


def log_in_by_phone(client, outbox, phone: str = PHONE):
    make_user(phone)
    client.post(LOGIN, {"login": phone})
    response = client.post(CONFIRM_LOGIN, {"code": code_for(outbox, phone)})
    assert response.status_code == 302
    return get_user(client)


def test_changing_to_the_current_phone_is_refused_without_a_call(client, outbox):
    user = log_in_by_phone(client, outbox, PHONE)
    response = client.post(CHANGE, {"phone": "8 924 450-10-03"})
    assert response.status_code == 200
    assert "must be different from the current one" in response.content.decode()
    assert len(outbox) == 1  # the login's call only
    assert list(PhoneNumber.objects.values_list("user_id", "phone")) == [(user.pk, PHONE)]


def test_changing_to_another_accounts_phone_places_no_call_and_counts_no_code(client, outbox):
    owner = make_user(OTHER)
    user = log_in_by_phone(client, outbox, PHONE)
    response = client.post(CHANGE, {"phone": "8 916 123-45-67"})
    # allauth answers as if a code was sent (no enumeration), but nothing is paid for.
    assert response.status_code == 302
    assert [call.phone for call in outbox] == [PHONE]
    assert not CallAttempt.objects.filter(phone=OTHER).exists()

    # A guess is refused by allauth and reaches no attempt of ours: there is none.
    response = client.post(response["Location"], {"code": "1234"})
    assert response.status_code == 200
    assert "incorrect" in response.content.decode().lower()
    assert list(CallAttempt.objects.values_list("phone", "status", "checks_used")) == [
        (PHONE, Status.VERIFIED, 0)
    ]
    assert sorted(PhoneNumber.objects.values_list("user_id", "phone")) == sorted(
        [(owner.pk, OTHER), (user.pk, PHONE)]
    )


def test_a_phone_taken_while_its_call_was_answered_is_not_given_twice(client, outbox):
    client.post(SIGNUP, {"phone": PHONE})
    newcomer = get_user_model().objects.get()
    # Meanwhile another account verifies the same number (the API, another browser).
    first = make_user(PHONE)

    # allauth checks the owner again when the code is typed: the phone stays
    # with the account that verified it first, and nobody is logged in.
    response = client.post(VERIFY, {"code": code_for(outbox)})
    assert response.status_code == 200
    assert "already registered with this phone number" in response.content.decode()
    assert not get_user(client).is_authenticated
    assert list(PhoneNumber.objects.values_list("user_id", "phone")) == [(first.pk, PHONE)]
    assert not PhoneNumber.objects.filter(user=newcomer).exists()


def test_a_wrong_code_for_a_stranger_phone_login_costs_nothing(client, outbox):
    # Login by code for an unknown phone: allauth shows the code page anyway.
    client.post(LOGIN, {"login": PHONE})
    response = client.post(CONFIRM_LOGIN, {"code": wrong("0000")})
    assert not get_user(client).is_authenticated
    assert response.status_code in (200, 302)
    assert outbox == [] and not CallAttempt.objects.exists()
