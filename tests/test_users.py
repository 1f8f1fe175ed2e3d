"""Who a verified phone belongs to (SPEC §3, §4), in both storage modes:
the app's ``PhoneNumber`` model and ``FLASHCALL_USER_PHONE_FIELD``."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from django_flashcall import signals
from django_flashcall.exceptions import PhoneTaken
from django_flashcall.internal import users
from django_flashcall.models import PhoneNumber
from django_flashcall.services import confirm_code, request_code
from tests.helpers import code_for, owners_attempt, row

pytestmark = pytest.mark.django_db

PHONE = "79244501003"
User = get_user_model()


def collect_into(log: list):
    def receiver(sender, **kwargs):
        log.append(kwargs)

    return receiver


@pytest.fixture(params=[None, "phone"], ids=["PhoneNumber-model", "user-phone-field"])
def storage(request, settings):
    settings.FLASHCALL_USER_PHONE_FIELD = request.param
    return request.param


def give(user, number: str, storage) -> None:
    if storage:
        setattr(user, storage, number)
        user.save()
    else:
        PhoneNumber.objects.create(user=user, phone=number)


def owns(user, number: str, storage) -> bool:
    if storage:
        user.refresh_from_db()
        return getattr(user, storage) == number
    return PhoneNumber.objects.filter(user=user, phone=number).exists()


def logged_in(user):
    request = RequestFactory().post("/")
    request.user = user
    return request


def test_anonymous_confirm_creates_a_user(outbox, storage):
    request_code(PHONE)
    attempt = confirm_code(PHONE, code_for(outbox))
    user = attempt.user
    assert user is not None
    assert User.objects.count() == 1
    assert row(attempt).user_id == user.pk
    assert owns(user, PHONE, storage)
    assert users.owner_of(PHONE) == user
    assert not user.has_usable_password()
    if storage:
        assert not PhoneNumber.objects.exists()


def test_no_user_is_created_when_create_users_is_off(outbox, storage, settings):
    settings.FLASHCALL_CREATE_USERS = False
    request_code(PHONE)
    attempt = confirm_code(PHONE, code_for(outbox))
    assert attempt.status == "verified"
    assert attempt.user is None
    assert row(attempt).user_id is None
    assert User.objects.count() == 0
    assert not PhoneNumber.objects.exists()


def test_existing_owner_is_reused(outbox, storage, settings, clock):
    owner = User.objects.create_user("owner")
    give(owner, PHONE, storage)
    for create in (True, False):
        settings.FLASHCALL_CREATE_USERS = create
        request_code(PHONE)
        assert confirm_code(PHONE, code_for(outbox)).user == owner
        clock.advance(61)
    assert User.objects.count() == 1


def test_logged_in_user_gets_an_unowned_phone(outbox, storage):
    me = User.objects.create_user("me")
    request_code(PHONE)
    attempt = confirm_code(PHONE, code_for(outbox), request=logged_in(me))
    assert attempt.user == me
    assert owns(me, PHONE, storage)
    assert users.owner_of(PHONE) == me
    assert User.objects.count() == 1


def test_logged_in_owner_confirms_own_phone(outbox, storage):
    me = User.objects.create_user("me")
    give(me, PHONE, storage)
    request_code(PHONE)
    assert confirm_code(PHONE, code_for(outbox), request=logged_in(me)).user == me
    assert User.objects.count() == 1


def test_phone_owned_by_another_user_is_phone_taken(outbox, storage):
    other = User.objects.create_user("other")
    give(other, PHONE, storage)
    me = User.objects.create_user("me")
    attempt = request_code(PHONE)
    code = code_for(outbox)

    verified, failed = [], []
    uid = "test-users"
    signals.code_verified.connect(collect_into(verified), weak=False, dispatch_uid=uid)
    signals.code_failed.connect(collect_into(failed), weak=False, dispatch_uid=uid)
    try:
        with pytest.raises(PhoneTaken) as info:
            confirm_code(PHONE, code, request=logged_in(me), attempt_id=owners_attempt(PHONE))
    finally:
        signals.code_verified.disconnect(dispatch_uid=uid)
        signals.code_failed.disconnect(dispatch_uid=uid)
    assert info.value.status == 409
    assert users.owner_of(PHONE) == other
    assert not owns(me, PHONE, storage)
    stored = row(attempt)
    assert stored.status == "pending" and stored.user_id is None and stored.checks_used == 0
    assert verified == []
    assert [kwargs["error"] for kwargs in failed] == [info.value]


def test_anonymous_user_request_is_anonymous(outbox, storage):
    request_code(PHONE)
    attempt = confirm_code(PHONE, code_for(outbox), request=logged_in(AnonymousUser()))
    assert attempt.user is not None and attempt.user.is_authenticated


def test_a_username_equal_to_the_phone_does_not_make_an_owner(outbox, storage):
    squatter = User.objects.create_user(PHONE)
    request_code(PHONE)
    attempt = confirm_code(PHONE, code_for(outbox))
    assert attempt.user != squatter
    assert attempt.user.username.startswith(PHONE)
    assert users.owner_of(PHONE) == attempt.user
    assert not owns(squatter, PHONE, storage)
