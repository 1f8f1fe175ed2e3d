"""The IntegrityError paths of ``users``: another confirm of the same phone
creates or links its user between our owner lookup and our insert. The
competing write is placed right after the lookup (tests/interleave.py), as a
concurrent process could commit it; both storage modes, any database."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from django_flashcall.exceptions import PhoneTaken
from django_flashcall.internal import users
from django_flashcall.models import CallAttempt, PhoneNumber, Status
from django_flashcall.services import confirm_code, request_code
from tests.helpers import PHONE, code_for, owners_attempt, row
from tests.interleave import interleave, selects

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture(params=[None, "phone"], ids=["PhoneNumber-model", "user-phone-field"])
def storage(request, settings):
    settings.FLASHCALL_USER_PHONE_FIELD = request.param
    return request.param


def owner_lookup(storage):
    """The first statement that looks for the phone's owner."""
    return selects("testapp_user" if storage else "django_flashcall_phonenumber")


def give(user, storage) -> None:
    if storage:
        User.objects.filter(pk=user.pk).update(phone=PHONE)
    else:
        PhoneNumber.objects.create(user=user, phone=PHONE)


def logged_in(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


def test_a_user_created_concurrently_is_used(outbox, storage):
    attempt = request_code(PHONE)
    theirs = []

    def concurrent_signup() -> None:
        user = User.objects.create_user(PHONE)
        give(user, storage)
        theirs.append(user)

    with interleave(owner_lookup(storage), concurrent_signup, after=True) as seen:
        verified = confirm_code(PHONE, code_for(outbox))
    assert "fired" in seen
    assert verified.user == theirs[0]
    assert row(attempt).user == theirs[0]
    assert User.objects.count() == 1
    assert users.owner_of(PHONE) == theirs[0]


def test_a_phone_linked_concurrently_is_phone_taken(outbox, storage):
    me = User.objects.create_user("me")
    other = User.objects.create_user("other")
    attempt = request_code(PHONE)

    with interleave(owner_lookup(storage), lambda: give(other, storage), after=True) as seen:
        with pytest.raises(PhoneTaken) as info:
            confirm_code(
                PHONE, code_for(outbox), request=logged_in(me), attempt_id=owners_attempt(PHONE)
            )
    assert "fired" in seen
    assert info.value.reason == "race"
    assert users.owner_of(PHONE) == other
    # Not consumed, no check spent: the owner may still use the code.
    stored = row(attempt)
    assert (stored.status, stored.checks_used, stored.user) == (Status.PENDING, 0, None)


def test_attach_refuses_a_phone_already_linked(storage):
    other = User.objects.create_user("other")
    give(other, storage)
    me = User.objects.create_user("me")
    with pytest.raises(PhoneTaken) as info:
        users.attach(me, PHONE)
    assert info.value.reason == "race"
    assert users.owner_of(PHONE) == other
    me.refresh_from_db()
    assert getattr(me, "phone", None) is None
    assert not PhoneNumber.objects.filter(user=me).exists()


def test_both_usernames_taken_by_others_is_phone_taken(outbox, storage, clock):
    attempt = request_code(PHONE)
    User.objects.create_user(PHONE)
    User.objects.create_user(f"{PHONE}-{clock().strftime('%Y%m%d%H%M%S%f')}")
    with pytest.raises(PhoneTaken) as info:
        confirm_code(PHONE, code_for(outbox))
    assert info.value.reason == "username"
    assert users.owner_of(PHONE) is None
    assert User.objects.count() == 2
    assert CallAttempt.objects.get(pk=attempt.pk).status == Status.PENDING


def test_phone_of(storage):
    user = User.objects.create_user("someone")
    assert users.phone_of(user) is None
    give(user, storage)
    user.refresh_from_db()
    assert users.phone_of(user) == PHONE
