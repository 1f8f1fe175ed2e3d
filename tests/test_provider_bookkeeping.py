"""Per provider, in a chain: a failure goes on the breaker of the provider
that failed, a provider that asks for the request's context gets it, and a
half-open breaker whose probe another request holds refuses with a
``code_failed`` like any other refusal."""

from __future__ import annotations

from typing import ClassVar

import pytest
from django.test import RequestFactory

from django_flashcall import signals
from django_flashcall.exceptions import ProviderUnavailable
from django_flashcall.internal import breaker
from django_flashcall.internal.cache import CacheUnavailable
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.providers import BaseProvider, ProviderResult
from django_flashcall.services import request_code
from django_flashcall.services.placement import CACHE_RETRY
from tests.helpers import PHONE

pytestmark = pytest.mark.django_db


class WithContext(BaseProvider):
    wants_context = True
    seen: ClassVar[list[dict]] = []

    def send(self, phone, *, sms_fallback=False, client_ip=None, attempt_id=None):
        WithContext.seen.append(
            {"client_ip": client_ip, "attempt_id": attempt_id, "sms_fallback": sms_fallback}
        )
        return ProviderResult(code="1234", provider_id="ctx-1", phone=phone)


class DuckTyped:
    """A provider that is not a BaseProvider: no ``wants_context`` at all,
    and a send() that takes no context."""

    name = "duck"
    seen: ClassVar[list[bool]] = []

    def send(self, phone, *, sms_fallback=False):
        DuckTyped.seen.append(sms_fallback)
        return ProviderResult(code="1234", provider_id="duck-1", phone=phone)


class Broken(BaseProvider):
    def send(self, phone, *, sms_fallback=False):
        raise KeyError("https://api.example/secret-token/get_code")


def _entry(backend: str, name: str) -> dict:
    return {"BACKEND": backend, "NAME": name}


def test_each_failure_goes_on_the_failing_providers_breaker(settings):
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    refusing = "tests.test_failed_request_row.Refusing"
    settings.FLASHCALL_PROVIDERS = [_entry(refusing, "first"), _entry(refusing, "second")]
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    assert (breaker.is_open("first"), breaker.is_open("second")) == (True, True)


@pytest.mark.parametrize("sms", [True, False])
def test_a_provider_that_wants_the_context_gets_it(settings, sms):
    settings.FLASHCALL_SMS_FALLBACK = True
    settings.FLASHCALL_PROVIDERS = [_entry("tests.test_provider_bookkeeping.WithContext", "ctx")]
    WithContext.seen.clear()
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
    attempt = request_code(PHONE, request=request, sms_fallback=sms)
    assert WithContext.seen == [
        {"client_ip": "203.0.113.9", "attempt_id": str(attempt.public_id), "sms_fallback": sms}
    ]


def test_a_provider_without_wants_context_is_called_without_it(settings):
    settings.FLASHCALL_SMS_FALLBACK = True
    settings.FLASHCALL_PROVIDERS = [_entry("tests.test_provider_bookkeeping.DuckTyped", "duck")]
    DuckTyped.seen.clear()
    attempt = request_code(PHONE, sms_fallback=True)
    assert (attempt.status, attempt.provider_id, DuckTyped.seen) == (
        Status.PENDING,
        "duck-1",
        [True],
    )


def test_a_provider_that_raises_is_a_bad_response_named_by_its_type_only(settings):
    settings.FLASHCALL_PROVIDERS = [_entry("tests.test_provider_bookkeeping.Broken", "broken")]
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    stored = CallAttempt.objects.get()
    assert (stored.status, stored.reason, stored.error) == (
        Status.FAILED,
        Reason.BAD_RESPONSE,
        "the provider raised KeyError",
    )


def test_a_probe_held_elsewhere_refuses_with_a_signal(settings, outbox, clock):
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    settings.FLASHCALL_PROVIDERS = [_entry("django_flashcall.providers.SandboxProvider", "only")]
    settings.FLASHCALL_BREAKER_COOLDOWN = 60
    breaker.record_failure("only")
    clock.advance(61)  # half-open: one probe
    assert breaker.check("only") == 0  # another request took the probe
    heard = []

    def receiver(sender, **kwargs):
        heard.append((sender, kwargs))

    signals.code_failed.connect(receiver)
    request = RequestFactory().post("/")
    try:
        with pytest.raises(ProviderUnavailable) as info:
            request_code(PHONE, request=request)
    finally:
        signals.code_failed.disconnect(receiver)
    assert info.value.reason == Reason.BREAKER_OPEN and outbox == []
    [(sender, kwargs)] = heard
    assert (sender, kwargs["request"], kwargs["error"]) == (CallAttempt, request, info.value)
    assert (kwargs["attempt"].status, kwargs["attempt"].reason) == (
        Status.REFUSED,
        Reason.BREAKER_OPEN,
    )


REFUSING = "tests.test_failed_request_row.Refusing"
SANDBOX = "django_flashcall.providers.SandboxProvider"


def test_a_success_clears_the_breaker_of_the_provider_that_placed_the_call(settings, outbox):
    settings.FLASHCALL_BREAKER_THRESHOLD = 5
    settings.FLASHCALL_PROVIDERS = [_entry(REFUSING, "first"), _entry(SANDBOX, "second")]
    breaker.record_failure("second")  # a failure on record: not clean
    attempt = request_code(PHONE)
    assert (attempt.status, attempt.provider) == (Status.PENDING, "second")
    assert breaker.peek("second") == (0, True)  # cleared
    assert breaker.peek("first") == (0, False)  # its own refusal stays counted


def test_a_half_open_provider_whose_probe_is_held_elsewhere_is_skipped(settings, outbox, clock):
    settings.FLASHCALL_BREAKER_THRESHOLD = 2  # the first one's refusal leaves it closed
    settings.FLASHCALL_BREAKER_COOLDOWN = 60
    settings.FLASHCALL_PROVIDERS = [_entry(REFUSING, "first"), _entry(SANDBOX, "second")]
    breaker.record_failure("second")
    breaker.record_failure("second")
    clock.advance(61)
    assert breaker.check("second") == 0  # another request took its probe
    with pytest.raises(ProviderUnavailable):
        request_code(PHONE)
    assert outbox == []


def test_a_half_open_probe_that_cannot_be_claimed_places_no_call(
    settings, outbox, clock, monkeypatch
):
    """The cache fails between the breakers' first look and the probe's
    claim: without the claim nobody knows whether another request probes,
    so no call goes out and the client is told to come back later."""
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    settings.FLASHCALL_BREAKER_COOLDOWN = 60
    settings.FLASHCALL_PROVIDERS = [_entry(SANDBOX, "only")]
    breaker.record_failure("only")
    clock.advance(61)  # half-open: the probe is free
    assert breaker.peek("only") == (0, False)

    def cache_down(name: str) -> int:
        raise CacheUnavailable("cache add() failed (ConnectionError)")

    monkeypatch.setattr(breaker, "check", cache_down)
    with pytest.raises(ProviderUnavailable) as info:
        request_code(PHONE)
    assert (info.value.reason, info.value.extra["retry_after"]) == (
        Reason.BREAKER_OPEN,
        CACHE_RETRY,
    )
    assert outbox == []
    assert CallAttempt.objects.get().status == Status.REFUSED
