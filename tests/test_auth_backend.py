"""``django.contrib.auth.authenticate(request, phone=..., code=...)`` (SPEC §5):
the user on the right code, ``None`` otherwise, never an exception."""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.test import RequestFactory
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from django_flashcall.auth_backends import FlashCallBackend
from django_flashcall.models import CallAttempt, PhoneNumber
from django_flashcall.services import request_code
from tests.helpers import wrong

pytestmark = pytest.mark.django_db

PHONE = "79244501003"
BACKEND = "django_flashcall.auth_backends.FlashCallBackend"
User = get_user_model()


@pytest.fixture
def rf_request():
    return RequestFactory().post("/", REMOTE_ADDR="203.0.113.1")


def code_for(outbox) -> str:
    return outbox[-1].code


def test_right_code_returns_the_new_user(outbox, rf_request):
    request_code(PHONE)
    user = authenticate(rf_request, phone="+7 (924) 450-10-03", code=code_for(outbox))
    assert user is not None
    assert user.backend == BACKEND
    assert PhoneNumber.objects.get(phone=PHONE).user == user


def test_right_code_returns_the_existing_owner(outbox, rf_request):
    owner = User.objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=PHONE)
    request_code(PHONE)
    assert authenticate(rf_request, phone=PHONE, code=code_for(outbox)) == owner
    assert User.objects.count() == 1


def test_attempt_id_credentials(outbox, rf_request):
    owner = User.objects.create_user("owner")
    PhoneNumber.objects.create(user=owner, phone=PHONE)
    attempt = request_code(PHONE)
    user = authenticate(rf_request, attempt_id=str(attempt.public_id), code=code_for(outbox))
    assert user == owner
    assert user.backend == BACKEND
    stored = CallAttempt.objects.get(pk=attempt.pk)
    assert (stored.status, stored.user) == ("verified", owner)
    # Single use: the same credentials a second time are refused.
    again = authenticate(rf_request, attempt_id=str(attempt.public_id), code=code_for(outbox))
    assert again is None
    assert rf_request.flashcall_error.code == "no_active_attempt"


def test_works_without_a_request(outbox):
    attempt = request_code(PHONE)
    user = authenticate(None, phone=PHONE, code=code_for(outbox))
    assert user is not None and user.backend == BACKEND
    assert PhoneNumber.objects.get(phone=PHONE).user == user
    assert CallAttempt.objects.get(pk=attempt.pk).user == user


def test_wrong_code_is_none_and_counts(outbox, rf_request):
    attempt = request_code(PHONE)
    held = str(attempt.public_id)
    assert authenticate(rf_request, attempt_id=held, code=wrong(code_for(outbox))) is None
    assert CallAttempt.objects.get(pk=attempt.pk).checks_used == 1
    assert rf_request.flashcall_error.code == "invalid_code"
    assert authenticate(rf_request, attempt_id=held, code=code_for(outbox)) is not None


def test_expired_code_is_none(outbox, rf_request, clock):
    request_code(PHONE)
    clock.advance(301)
    assert authenticate(rf_request, phone=PHONE, code=code_for(outbox)) is None
    assert rf_request.flashcall_error.code == "code_expired"


def test_used_code_is_none(outbox, rf_request):
    request_code(PHONE)
    code = code_for(outbox)
    assert authenticate(rf_request, phone=PHONE, code=code) is not None
    assert authenticate(rf_request, phone=PHONE, code=code) is None


def test_exhausted_attempt_is_none_even_with_the_right_code(outbox, rf_request):
    request_code(PHONE)
    code = code_for(outbox)
    for _ in range(3):
        assert authenticate(rf_request, phone=PHONE, code=wrong(code)) is None
    assert authenticate(rf_request, phone=PHONE, code=code) is None
    assert rf_request.flashcall_error.code == "too_many_attempts"


@pytest.mark.parametrize(
    "credentials",
    [
        {"phone": PHONE, "code": "12a4"},
        {"phone": PHONE, "code": "١٢٣٤"},
        {"phone": PHONE, "code": 1234},
        {"phone": PHONE, "code": None},
        {"phone": PHONE, "code": ["1234"]},
        {"phone": "not a phone", "code": "1234"},
        {"phone": "+7 495 123-45-67", "code": "1234"},
        {"phone": 79244501003, "code": "1234"},
        {"phone": None, "code": "1234"},
        {"phone": ["79244501003"], "code": "1234"},
        {"phone": "9" * 10_000, "code": "1234"},
        {"phone": "79161234567", "code": "1234"},  # no attempt
        {"attempt_id": "not-a-uuid", "code": "1234"},
        {"attempt_id": 42, "code": "1234"},
        {"attempt_id": "00000000-0000-0000-0000-000000000000", "code": "1234"},
        {"phone": PHONE},
        {"code": "1234"},
        {"username": PHONE, "password": "1234"},
    ],
)
def test_garbage_is_none_and_never_raises(outbox, rf_request, credentials):
    attempt = request_code(PHONE)
    assert authenticate(rf_request, **credentials) is None
    stored = CallAttempt.objects.get(pk=attempt.pk)
    assert stored.checks_used == 0
    assert stored.status == "pending"


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    phone=st.one_of(st.none(), st.text(max_size=30), st.integers()),
    code=st.one_of(st.none(), st.text(max_size=8), st.integers()),
)
def test_any_credentials_never_raise(outbox, phone, code):
    # No call was requested for any phone: nothing can succeed.
    assert authenticate(None, phone=phone, code=code) is None
    assert User.objects.count() == 0


def test_inactive_user_is_none(outbox, rf_request):
    owner = User.objects.create_user("owner", is_active=False)
    PhoneNumber.objects.create(user=owner, phone=PHONE)
    request_code(PHONE)
    assert authenticate(rf_request, phone=PHONE, code=code_for(outbox)) is None
    assert User.objects.count() == 1  # no second account for the phone


def test_inactive_user_field_mode(outbox, rf_request, settings):
    settings.FLASHCALL_USER_PHONE_FIELD = "phone"
    User.objects.create_user("owner", phone=PHONE, is_active=False)
    request_code(PHONE)
    assert authenticate(rf_request, phone=PHONE, code=code_for(outbox)) is None


def test_no_user_when_create_users_is_off(outbox, rf_request, settings):
    settings.FLASHCALL_CREATE_USERS = False
    request_code(PHONE)
    assert authenticate(rf_request, phone=PHONE, code=code_for(outbox)) is None
    assert User.objects.count() == 0
    # The phone was verified all the same; the view can tell from the attempt.
    assert rf_request.flashcall_attempt.status == "verified"


def test_password_login_still_reaches_model_backend():
    user = User.objects.create_user("alice", password="s3cret-pass")
    assert authenticate(None, username="alice", password="s3cret-pass") == user
    assert authenticate(None, username="alice", password="wrong") is None


def test_get_user():
    backend = FlashCallBackend()
    active = User.objects.create_user("a")
    inactive = User.objects.create_user("b", is_active=False)
    assert backend.get_user(active.pk) == active
    assert backend.get_user(inactive.pk) is None
    assert backend.get_user(10_000) is None
