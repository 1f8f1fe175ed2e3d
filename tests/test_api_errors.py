"""``api/errors.py``: every error the API can meet becomes SPEC §4 JSON.

The paths a client can reach are driven through the views (a rejected DRF
credential, a bug in a login hook); the ones that only a site's own code or
another DRF version can reach are checked on the handler itself.
"""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.urls import path
from rest_framework import exceptions as drf
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from django_flashcall.api import errors
from django_flashcall.api.views import ConfirmCodeView, RequestCodeView
from django_flashcall.exceptions import RateLimited
from django_flashcall.internal import users
from django_flashcall.models import CallAttempt, Status
from tests.api_helpers import CONFIRM, REQUEST, assert_error, post
from tests.helpers import PHONE, code_for

pytestmark = pytest.mark.django_db


def broken_login_hook(request, user, attempt):
    """A ``FLASHCALL_LOGIN`` hook with a bug."""
    raise RuntimeError("hook bug with a secret-looking value 5555")


# A site whose DRF authentication is token-based (``as_view`` takes the
# class attributes: DRF reads its defaults at import time).
urlpatterns = [
    path(
        "api/flashcall/request/",
        RequestCodeView.as_view(authentication_classes=[TokenAuthentication]),
    ),
    path(
        "api/flashcall/confirm/",
        ConfirmCodeView.as_view(authentication_classes=[TokenAuthentication]),
    ),
]
token_site = pytest.mark.urls("tests.test_api_errors")


# --------------------------------------------------------------------------- through the views


@token_site
@pytest.mark.parametrize("url", [REQUEST, CONFIRM])
def test_a_rejected_drf_credential_is_401_authentication_failed(client, outbox, url):
    body = {"phone": PHONE, "code": "1234"}
    response = post(client, url, body, HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Token"
    assert outbox == []
    assert not CallAttempt.objects.exists()


@token_site
def test_a_valid_drf_credential_attaches_the_phone(client, outbox, django_user_model, settings):
    settings.FLASHCALL_LOGIN = "none"
    user = django_user_model.objects.create_user("someone")
    token = Token.objects.create(user=user)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert post(client, REQUEST, {"phone": PHONE}, **auth).status_code == 201
    response = post(client, CONFIRM, {"phone": PHONE, "code": code_for(outbox)}, **auth)
    assert response.status_code == 200, response.content
    assert response.json()["user_id"] == user.pk
    assert users.owner_of(PHONE) == user


def test_a_bug_after_the_service_is_a_json_500(client, outbox, settings, caplog):
    settings.FLASHCALL_LOGIN = "tests.test_api_errors.broken_login_hook"
    assert post(client, REQUEST, {"phone": PHONE}).status_code == 201
    with caplog.at_level(logging.ERROR, logger="django_flashcall"):
        response = post(client, CONFIRM, {"phone": PHONE, "code": code_for(outbox)})
    assert_error(response, 500, "server_error")
    assert "5555" not in response.content.decode()
    (record,) = [r for r in caplog.records if r.name == "django_flashcall"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    # The service's work is done and stays done.
    assert CallAttempt.objects.get().status == Status.VERIFIED


# --------------------------------------------------------------------------- the handler


class _View:
    allowed_methods = ["POST"]


CONTEXT = {"view": _View()}


def answer(exc):
    response = errors.exception_handler(exc, CONTEXT)
    assert response is not None
    return response.status_code, response.data


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (drf.NotAuthenticated(), 401, "authentication_failed"),
        (drf.AuthenticationFailed(), 401, "authentication_failed"),
        (drf.PermissionDenied("CSRF Failed: CSRF token missing."), 403, "csrf_failed"),
        (drf.MethodNotAllowed("GET"), 405, "method_not_allowed"),
        (drf.NotAcceptable(), 406, "not_acceptable"),
        (RequestDataTooBig("too big"), 400, "invalid_request"),
        (Http404("nothing here"), 404, "not_found"),
        (drf.ParseError(), 400, "invalid_request"),
        (drf.UnsupportedMediaType("text/plain"), 400, "invalid_request"),
        (RateLimited(retry_after=7, reason="ip"), 429, "rate_limited"),
    ],
)
def test_handler_maps_each_error(exc, status, code):
    got_status, data = answer(exc)
    assert (got_status, data["code"]) == (status, code)
    assert isinstance(data["detail"], str) and data["detail"]
    assert set(data) <= {"detail", "code", "retry_after", "attempts_left"}


def test_handler_headers():
    response = errors.exception_handler(drf.MethodNotAllowed("GET"), CONTEXT)
    assert response["Allow"] == "POST"
    response = errors.exception_handler(RateLimited(retry_after=7, reason="ip"), CONTEXT)
    assert response["Retry-After"] == "7" and response.data["retry_after"] == 7


def test_handler_leaves_unknown_errors_to_the_last_resort():
    assert errors.exception_handler(KeyError("x"), CONTEXT) is None
    response = errors.unexpected(KeyError("x"))
    assert response.status_code == 500
    assert response.data["code"] == "server_error"
