"""What a confirmed phone turns into: the ``FLASHCALL_LOGIN`` modes through the
API (session with login CSRF, DRF token, verify-only, a dotted-path hook),
linking phones to users in both storage modes, and ``FlashCallBackend``."""

import pytest
from django.contrib.auth import SESSION_KEY, authenticate
from django.http import HttpRequest
from django.test import Client, RequestFactory
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from django_flashcall import services
from django_flashcall.models import CallAttempt, PhoneNumber, Status

pytestmark = pytest.mark.django_db

REQUEST = "/api/flashcall/request/"
CONFIRM = "/api/flashcall/confirm/"
PHONE = "79244501003"
BACKEND = "django_flashcall.auth_backends.FlashCallBackend"
HOOK_CALLS = []


def jwt_hook(request, user, attempt):
    """A ``FLASHCALL_LOGIN`` hook: simplejwt tokens for the verified user."""
    HOOK_CALLS.append((request, user, attempt))
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@pytest.fixture(autouse=True)
def _hook_calls():
    HOOK_CALLS.clear()
    yield
    HOOK_CALLS.clear()


def post(client, url, body, **extra):
    return client.post(url, body, content_type="application/json", **extra)


def wrong(code):
    return f"{(int(code) + 1) % 10000:04d}"


@pytest.fixture
def call(flashcall_outbox):
    """Places a sandbox call through the API; returns ``(attempt_id, code)``."""

    def place(client, phone=PHONE):
        response = post(client, REQUEST, {"phone": phone})
        assert response.status_code == 201, response.content
        return response.json()["attempt_id"], flashcall_outbox[-1].code

    return place


@pytest.fixture(params=[None, "phone"], ids=["PhoneNumber", "USER_PHONE_FIELD"])
def phone_field(request, settings):
    """Both ways of linking phones to users."""
    settings.FLASHCALL_USER_PHONE_FIELD = request.param
    return request.param


@pytest.fixture
def make_user(django_user_model, phone_field):
    """A user, owning ``phone`` (if given) in the current storage mode."""

    def make(username, phone=None, **extra):
        user = django_user_model.objects.create_user(username, **extra)
        if phone is not None:
            if phone_field:
                setattr(user, phone_field, phone)
                user.save()
            else:
                PhoneNumber.objects.create(user=user, phone=phone)
        return user

    return make


def owner_of(phone, phone_field, django_user_model):
    if phone_field:
        return django_user_model.objects.filter(**{phone_field: phone}).first()
    link = PhoneNumber.objects.filter(phone=phone).first()
    return link.user if link else None


def logged_in_id(client):
    return client.session.get(SESSION_KEY)


# --------------------------------------------------------------------------- session


def test_session_login_rotates_the_session_key(client, call, make_user):
    user = make_user("owner", PHONE)
    session = client.session
    session["cart"] = "kept"
    session.save()
    anonymous_key = session.session_key

    _, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})

    assert response.status_code == 200, response.content
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": user.pk}
    assert int(client.session[SESSION_KEY]) == user.pk
    assert client.session["_auth_user_backend"] == BACKEND
    assert client.session.session_key != anonymous_key  # no session fixation
    assert response.cookies["sessionid"].value == client.session.session_key
    assert client.session["cart"] == "kept"
    # The next request of this client is authenticated.
    later = client.get(REQUEST)
    assert later.wsgi_request.user == user


def test_session_login_creates_a_user_for_a_new_phone(client, call, phone_field, django_user_model):
    _, code = call(client)
    body = post(client, CONFIRM, {"phone": PHONE, "code": code}).json()

    user = django_user_model.objects.get()
    assert body["user_id"] == user.pk
    assert owner_of(PHONE, phone_field, django_user_model) == user
    assert not user.has_usable_password()
    assert int(logged_in_id(client)) == user.pk
    assert PhoneNumber.objects.exists() is (phone_field is None)


def test_no_user_is_created_without_create_users(client, call, settings, django_user_model):
    settings.FLASHCALL_CREATE_USERS = False
    attempt_id, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})

    assert response.status_code == 200
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": None}
    assert not django_user_model.objects.exists()
    assert not PhoneNumber.objects.exists()
    assert logged_in_id(client) is None
    assert CallAttempt.objects.get(public_id=attempt_id).status == Status.VERIFIED


def test_create_users_off_still_logs_in_an_existing_owner(client, call, settings, make_user):
    settings.FLASHCALL_CREATE_USERS = False
    user = make_user("owner", PHONE)
    _, code = call(client)
    assert post(client, CONFIRM, {"phone": PHONE, "code": code}).json()["user_id"] == user.pk
    assert int(logged_in_id(client)) == user.pk


@pytest.mark.parametrize("mode", ["session", "token", "tests.test_api_login.jwt_hook"])
def test_an_inactive_owner_is_not_logged_in(client, call, settings, make_user, mode):
    settings.FLASHCALL_LOGIN = mode
    make_user("owner", PHONE, is_active=False)
    _, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})
    assert response.status_code == 200
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": None}
    assert logged_in_id(client) is None
    assert not Token.objects.exists()
    assert HOOK_CALLS == []


# --------------------------------------------------------------------------- login CSRF


def test_confirm_without_csrf_token_is_403_csrf_failed(call):
    client = Client(enforce_csrf_checks=True)
    attempt_id, code = call(client)  # anonymous request/ needs no token
    assert client.cookies["csrftoken"].value  # ...and hands one out

    response = post(client, CONFIRM, {"phone": PHONE, "code": code})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "csrf_failed"
    assert isinstance(body["detail"], str) and body["detail"]
    assert logged_in_id(client) is None
    row = CallAttempt.objects.get(public_id=attempt_id)
    assert row.status == Status.PENDING and row.checks_used == 0  # not even checked


def test_confirm_with_a_wrong_csrf_token_is_403(call):
    client = Client(enforce_csrf_checks=True)
    _, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code}, HTTP_X_CSRFTOKEN="x" * 32)
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"


def test_confirm_with_csrf_cookie_and_header_logs_in(call, django_user_model):
    client = Client(enforce_csrf_checks=True)
    _, code = call(client)
    token = client.cookies["csrftoken"].value

    response = post(client, CONFIRM, {"phone": PHONE, "code": code}, HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200, response.content
    assert int(logged_in_id(client)) == django_user_model.objects.get().pk


def test_logged_in_client_needs_the_csrf_token_on_both_endpoints(
    flashcall_outbox, django_user_model
):
    client = Client(enforce_csrf_checks=True)
    user = django_user_model.objects.create_user("someone")
    client.force_login(user)
    secret = "s" * 32
    client.cookies["csrftoken"] = secret

    response = post(client, REQUEST, {"phone": PHONE})
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert flashcall_outbox == []
    assert post(client, REQUEST, {"phone": PHONE}, HTTP_X_CSRFTOKEN=secret).status_code == 201
    code = flashcall_outbox[-1].code

    response = post(client, CONFIRM, {"phone": PHONE, "code": code})
    assert response.status_code == 403 and response.json()["code"] == "csrf_failed"
    assert not PhoneNumber.objects.exists()
    response = post(client, CONFIRM, {"phone": PHONE, "code": code}, HTTP_X_CSRFTOKEN=secret)
    assert response.status_code == 200 and response.json()["user_id"] == user.pk
    assert PhoneNumber.objects.get().user == user


@pytest.mark.parametrize("mode", ["token", "none"])
def test_no_login_csrf_outside_session_mode(call, settings, mode):
    settings.FLASHCALL_LOGIN = mode
    client = Client(enforce_csrf_checks=True)
    _, code = call(client)
    assert post(client, CONFIRM, {"phone": PHONE, "code": code}).status_code == 200


# --------------------------------------------------------------------------- token


def test_token_mode_returns_a_drf_authtoken(client, call, settings, django_user_model):
    settings.FLASHCALL_LOGIN = "token"
    _, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})

    assert response.status_code == 200, response.content
    body = response.json()
    user = django_user_model.objects.get()
    assert set(body) == {"verified", "phone", "user_id", "token"}
    assert body["user_id"] == user.pk
    assert Token.objects.get(key=body["token"]).user == user
    assert logged_in_id(client) is None  # no session in token mode
    # The token authenticates a later request.
    later = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert TokenAuthentication().authenticate(Request(later))[0] == user


def test_token_mode_gives_an_existing_user_their_token(client, call, settings, make_user):
    settings.FLASHCALL_LOGIN = "token"
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    user = make_user("owner", PHONE)
    tokens = []
    for _ in range(2):
        _, code = call(client)
        tokens.append(post(client, CONFIRM, {"phone": PHONE, "code": code}).json()["token"])
    assert tokens[0] == tokens[1] == Token.objects.get(user=user).key


# --------------------------------------------------------------------------- none


def test_none_mode_verifies_an_owned_phone_only(client, call, settings, make_user):
    settings.FLASHCALL_LOGIN = "none"
    user = make_user("owner", PHONE)
    _, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": user.pk}
    assert logged_in_id(client) is None
    assert "sessionid" not in response.cookies


def test_none_mode_creates_no_user(client, call, settings, django_user_model):
    settings.FLASHCALL_LOGIN = "none"
    settings.FLASHCALL_CREATE_USERS = True
    attempt_id, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": None}
    assert not django_user_model.objects.exists()
    assert not PhoneNumber.objects.exists()
    assert logged_in_id(client) is None
    assert CallAttempt.objects.get(public_id=attempt_id).status == Status.VERIFIED


def test_none_mode_gives_an_unowned_phone_to_the_logged_in_user(
    client, call, settings, make_user, phone_field, django_user_model
):
    settings.FLASHCALL_LOGIN = "none"
    user = make_user("me")
    client.force_login(user)
    _, code = call(client)
    assert post(client, CONFIRM, {"phone": PHONE, "code": code}).json()["user_id"] == user.pk
    assert owner_of(PHONE, phone_field, django_user_model) == user


# --------------------------------------------------------------------------- hook


def test_hook_keys_are_merged_into_the_answer(client, call, settings, make_user):
    settings.FLASHCALL_LOGIN = "tests.test_api_login.jwt_hook"
    user = make_user("owner", PHONE)
    attempt_id, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"verified", "phone", "user_id", "access", "refresh"}
    assert body["user_id"] == user.pk
    access = AccessToken(body["access"])
    assert str(access["user_id"]) == str(user.pk)
    assert JWTAuthentication().get_user(access) == user
    assert str(RefreshToken(body["refresh"]).access_token["user_id"]) == str(user.pk)
    ((request, hooked_user, attempt),) = HOOK_CALLS
    assert isinstance(request, HttpRequest)
    assert hooked_user == user
    assert attempt.public_id.hex == attempt_id.replace("-", "")
    assert attempt.status == Status.VERIFIED
    assert logged_in_id(client) is None  # the hook decides; no session


def test_hook_for_a_new_user(client, call, settings, django_user_model):
    settings.FLASHCALL_LOGIN = "tests.test_api_login.jwt_hook"
    _, code = call(client)
    body = post(client, CONFIRM, {"phone": PHONE, "code": code}).json()
    assert (
        JWTAuthentication().get_user(AccessToken(body["access"])) == django_user_model.objects.get()
    )


def test_hook_is_not_called_without_a_user(client, call, settings):
    settings.FLASHCALL_LOGIN = "tests.test_api_login.jwt_hook"
    settings.FLASHCALL_CREATE_USERS = False
    _, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})
    assert response.json() == {"verified": True, "phone": PHONE, "user_id": None}
    assert HOOK_CALLS == []


# --------------------------------------------------------------------------- attach / phone_taken


def test_logged_in_user_gets_an_unowned_phone(
    client, call, make_user, phone_field, django_user_model
):
    user = make_user("me")
    client.force_login(user)
    _, code = call(client)
    response = post(client, CONFIRM, {"phone": PHONE, "code": code})

    assert response.status_code == 200, response.content
    assert response.json()["user_id"] == user.pk
    assert owner_of(PHONE, phone_field, django_user_model) == user
    assert django_user_model.objects.count() == 1  # no new user
    assert int(logged_in_id(client)) == user.pk


def test_logged_in_user_confirming_their_own_phone(client, call, make_user):
    user = make_user("me", PHONE)
    client.force_login(user)
    _, code = call(client)
    assert post(client, CONFIRM, {"phone": PHONE, "code": code}).json()["user_id"] == user.pk


def test_phone_owned_by_another_user_is_phone_taken(
    client, call, make_user, phone_field, django_user_model
):
    owner = make_user("owner", PHONE)
    me = make_user("me")
    client.force_login(me)
    attempt_id, code = call(client)

    response = post(client, CONFIRM, {"phone": PHONE, "code": code})

    assert response.status_code == 409
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "phone_taken"
    assert isinstance(body["detail"], str) and body["detail"]
    assert set(body) == {"detail", "code"}
    assert owner_of(PHONE, phone_field, django_user_model) == owner
    assert int(logged_in_id(client)) == me.pk  # still the same user
    assert CallAttempt.objects.get(public_id=attempt_id).status != Status.VERIFIED


# --------------------------------------------------------------------------- FlashCallBackend


@pytest.fixture
def sandbox_call(flashcall_outbox):
    def place(phone=PHONE):
        attempt = services.request_code(phone)
        return attempt, flashcall_outbox[-1].code

    return place


def http_request():
    return RequestFactory().post("/login/")


def test_backend_returns_the_owner(sandbox_call, make_user):
    owner = make_user("owner", PHONE)
    _, code = sandbox_call()
    request = http_request()
    assert authenticate(request, phone="+7 924 450-10-03", code=code) == owner
    assert request.flashcall_attempt.status == Status.VERIFIED


def test_backend_by_attempt_id(sandbox_call, make_user):
    owner = make_user("owner", PHONE)
    attempt, code = sandbox_call()
    assert authenticate(http_request(), attempt_id=str(attempt.public_id), code=code) == owner


def test_backend_creates_a_user_with_create_users(sandbox_call, phone_field, django_user_model):
    _, code = sandbox_call()
    user = authenticate(http_request(), phone=PHONE, code=code)
    assert user is not None and user == django_user_model.objects.get()
    assert owner_of(PHONE, phone_field, django_user_model) == user
    if phone_field:
        assert user.phone == PHONE and not PhoneNumber.objects.exists()


def test_backend_creates_no_user_without_create_users(
    sandbox_call, settings, phone_field, django_user_model
):
    settings.FLASHCALL_CREATE_USERS = False
    attempt, code = sandbox_call()
    assert authenticate(http_request(), phone=PHONE, code=code) is None
    assert not django_user_model.objects.exists()
    attempt.refresh_from_db()
    assert attempt.status == Status.VERIFIED


def test_backend_wrong_code_is_none_not_an_exception(sandbox_call, make_user):
    make_user("owner", PHONE)
    attempt, code = sandbox_call()
    request = http_request()
    assert authenticate(request, phone=PHONE, code=wrong(code)) is None
    assert request.flashcall_error.code == "invalid_code"
    attempt.refresh_from_db()
    assert attempt.checks_used == 1


@pytest.mark.parametrize(
    "credentials",
    [
        {"phone": PHONE},
        {"code": "1234"},
        {"phone": "garbage", "code": "1234"},
        {"phone": PHONE, "code": "1234"},  # no call placed
    ],
)
def test_backend_returns_none_for_incomplete_or_bad_credentials(credentials, make_user):
    make_user("owner", PHONE)
    assert authenticate(http_request(), **credentials) is None


def test_backend_refuses_an_inactive_owner(sandbox_call, make_user):
    make_user("owner", PHONE, is_active=False)
    _, code = sandbox_call()
    assert authenticate(http_request(), phone=PHONE, code=code) is None


def test_password_login_still_works_through_model_backend(django_user_model):
    user = django_user_model.objects.create_user("pw", password="s3cret-pass")
    assert authenticate(http_request(), username="pw", password="s3cret-pass") == user


def test_backend_get_user(make_user):
    from django_flashcall.auth_backends import FlashCallBackend

    active = make_user("active")
    inactive = make_user("inactive", is_active=False)
    backend = FlashCallBackend()
    assert backend.get_user(active.pk) == active
    assert backend.get_user(inactive.pk) is None
    assert backend.get_user(10**9) is None
