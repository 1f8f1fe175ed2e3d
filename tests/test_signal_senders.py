"""Every signal the services send has ``CallAttempt`` as its sender and the
caller's request, on every path: a placed call, a test number, a refusal by
a limit, by the breaker or by a dead cache, a failed call, a wrong and a
right code. A receiver connected with ``sender=CallAttempt`` (as Django's
docs advise) hears them all, and can read the client from the request."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from django_flashcall import signals
from django_flashcall.exceptions import (
    FlashCallError,
    InvalidCode,
    ProviderUnavailable,
    RateLimited,
)
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.services import confirm_code, request_code
from tests.helpers import PHONE, code_for, owners_attempt, phone, use_failing, wrong

pytestmark = pytest.mark.django_db

TEST_NUMBER = "79000000000"
NAMES = ("code_requested", "code_verified", "code_failed")
DEAD_REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "dead": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
    },
}


@pytest.fixture
def heard():
    """(signal name, kwargs) of what a receiver for CallAttempt hears."""
    log: list[tuple[str, dict]] = []
    receivers = []
    for name in NAMES:

        def receiver(sender, _name=name, **kwargs):
            assert sender is CallAttempt
            log.append((_name, kwargs))

        receivers.append((name, receiver))
        getattr(signals, name).connect(receiver, sender=CallAttempt)
    yield log
    for name, receiver in receivers:
        getattr(signals, name).disconnect(receiver, sender=CallAttempt)


@pytest.fixture
def request_():
    return RequestFactory().post("/", REMOTE_ADDR="203.0.113.7")


def _refused(number: str, request, error: type[FlashCallError] = RateLimited) -> FlashCallError:
    with pytest.raises(error) as info:
        request_code(number, request=request)
    return info.value


def test_a_call_a_wrong_and_a_right_code(outbox, heard, request_):
    attempt = request_code(PHONE, request=request_)
    code = code_for(outbox)
    with pytest.raises(InvalidCode) as failed:
        confirm_code(PHONE, wrong(code), request=request_, attempt_id=owners_attempt(PHONE))
    confirm_code(PHONE, code, request=request_, attempt_id=owners_attempt(PHONE))
    assert [name for name, _ in heard] == ["code_requested", "code_failed", "code_verified"]
    assert all(kwargs["request"] is request_ for _, kwargs in heard)
    assert all(kwargs["attempt"].pk == attempt.pk for _, kwargs in heard)
    assert heard[1][1]["error"] is failed.value
    assert heard[0][1]["attempt"].ip == "203.0.113.7"
    assert heard[0][1]["attempt"].user_agent == ""  # the request sent none


def test_a_refusal_by_a_limit(outbox, settings, heard, request_):
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    request_code(PHONE)
    error = _refused(PHONE, request_)
    (name, kwargs) = heard[-1]
    assert (name, kwargs["request"], kwargs["error"]) == ("code_failed", request_, error)
    assert (kwargs["attempt"].status, kwargs["attempt"].reason) == (Status.REFUSED, error.reason)


def test_a_failed_call_and_the_breaker_after_it(settings, heard, request_):
    use_failing(settings)
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    first = _refused(phone(1), request_, ProviderUnavailable)
    second = _refused(phone(2), request_, ProviderUnavailable)
    assert [(n, kw["attempt"].reason, kw["error"]) for n, kw in heard] == [
        ("code_failed", "server_error", first),
        ("code_failed", Reason.BREAKER_OPEN, second),
    ]
    assert all(kwargs["request"] is request_ for _, kwargs in heard)


def test_a_test_number_its_code_and_its_refusal(settings, heard, request_):
    settings.FLASHCALL_TEST_NUMBERS = {TEST_NUMBER: "1234"}
    settings.FLASHCALL_RESEND_COOLDOWN = 60
    attempt = request_code(TEST_NUMBER, request=request_)
    error = _refused(TEST_NUMBER, request_)
    assert [(n, kw["request"]) for n, kw in heard] == [
        ("code_requested", request_),
        ("code_failed", request_),
    ]
    assert heard[0][1]["attempt"].pk == attempt.pk
    assert heard[1][1]["error"] is error and error.reason == Reason.COOLDOWN


@pytest.mark.parametrize("number", [PHONE, TEST_NUMBER])
def test_a_refusal_while_the_cache_is_down(outbox, settings, heard, request_, number):
    settings.FLASHCALL_TEST_NUMBERS = {TEST_NUMBER: "1234"}
    settings.CACHES = DEAD_REDIS
    settings.FLASHCALL_CACHE_ALIAS = "dead"
    error = _refused(number, request_, ProviderUnavailable)
    assert (error.reason, error.extra["retry_after"]) == (Reason.CACHE_DOWN, 30)
    assert outbox == []
    refused = CallAttempt.objects.get()
    assert (refused.status, refused.reason, refused.phone) == (
        Status.REFUSED,
        Reason.CACHE_DOWN,
        number,
    )
    [(name, kwargs)] = heard
    assert (name, kwargs["request"], kwargs["error"]) == ("code_failed", request_, error)
