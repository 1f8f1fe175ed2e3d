"""The circuit breaker (SPEC §6): its state machine, its use by ``request_code``,
and its state in the shared cache."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid

import pytest
from django.core.cache import caches

from django_flashcall.exceptions import ProviderUnavailable, RateLimited
from django_flashcall.internal import breaker
from django_flashcall.models import CallAttempt
from django_flashcall.providers import ProviderError
from django_flashcall.services import request_code
from tests.helpers import phone, use_failing

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing(settings):
    return use_failing(settings)


@pytest.fixture
def small(settings, clock):
    """Threshold 3, cooldown 60 s, a frozen clock."""
    settings.FLASHCALL_BREAKER_THRESHOLD = 3
    settings.FLASHCALL_BREAKER_COOLDOWN = 60
    return clock


# --------------------------------------------------------------------------- state machine


def test_closed_until_threshold_consecutive_failures(small):
    for _ in range(2):
        breaker.record_failure()
        assert breaker.check() == 0
        assert not breaker.is_open()
    breaker.record_failure()
    assert breaker.is_open()
    assert breaker.check() == 60


def test_a_success_resets_the_failure_count(small):
    for _ in range(5):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.check() == 0
    assert not breaker.is_open()


def test_open_breaker_counts_down(small):
    clock = small
    for _ in range(3):
        breaker.record_failure()
    clock.advance(0.5)
    assert breaker.check() == 60  # whole seconds, rounded up
    clock.advance(40)
    assert breaker.check() == 20
    clock.advance(19.4)
    assert breaker.check() == 1
    assert breaker.is_open()


def test_after_cooldown_exactly_one_probe(small):
    clock = small
    for _ in range(3):
        breaker.record_failure()
    clock.advance(60)
    assert not breaker.is_open()
    assert breaker.check() == 0  # the probe
    for _ in range(5):
        assert breaker.check() == 1  # everyone else keeps failing fast
    breaker.record_success()
    for _ in range(5):
        assert breaker.check() == 0


def test_failed_probe_reopens_for_a_full_cooldown(small):
    clock = small
    for _ in range(3):
        breaker.record_failure()
    clock.advance(61)
    assert breaker.check() == 0  # the probe
    breaker.record_failure()
    assert breaker.check() == 60
    clock.advance(60)
    assert breaker.check() == 0  # the next probe
    assert breaker.check() == 1


def test_cooldown_setting_is_read_when_opening(small, settings):
    settings.FLASHCALL_BREAKER_COOLDOWN = 5
    for _ in range(3):
        breaker.record_failure()
    assert breaker.check() == 5


def test_state_lives_in_the_configured_cache(small, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"default-{uuid.uuid4()}",
        },
        "shared": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"shared-{uuid.uuid4()}",
        },
    }
    settings.FLASHCALL_CACHE_ALIAS = "shared"
    for _ in range(3):
        breaker.record_failure()
    open_until = breaker.keys()[1]
    assert caches["shared"].get(open_until) is not None
    assert caches["default"].get(open_until) is None
    assert breaker.check() == 60
    caches["shared"].clear()  # another cache: another breaker
    assert breaker.check() == 0


# --------------------------------------------------------------------------- request_code


def test_breaker_opens_after_threshold_failures_and_fails_fast(failing, small):
    clock = small
    for i in range(3):
        with pytest.raises(ProviderUnavailable) as info:
            request_code(phone(i))
        assert info.value.reason == "server_error"
    assert len(failing.calls) == 3

    with pytest.raises(ProviderUnavailable) as info:
        request_code(phone(3))
    assert info.value.extra["retry_after"] == 60
    assert info.value.reason == "breaker_open"
    assert len(failing.calls) == 3  # not called
    refused = CallAttempt.objects.order_by("-pk").first()
    assert (refused.phone, refused.status, refused.reason) == (phone(3), "refused", "breaker_open")

    clock.advance(45)
    with pytest.raises(ProviderUnavailable) as info:
        request_code(phone(4))
    assert info.value.extra["retry_after"] == 15
    assert len(failing.calls) == 3


def test_breaker_lets_exactly_one_probe_through_and_success_closes_it(scripted, small):
    clock = small
    scripted.failure = ProviderError("server_error")
    for i in range(3):
        with pytest.raises(ProviderUnavailable):
            request_code(phone(i))
    with pytest.raises(ProviderUnavailable):
        request_code(phone(3))
    assert len(scripted.calls) == 3

    clock.advance(60)
    inner = {}

    def while_probing():
        with pytest.raises(ProviderUnavailable) as info:
            request_code(phone(5))
        inner["error"] = info.value

    scripted.failure = None
    scripted.during_call = while_probing
    probe = request_code(phone(4))  # the probe, and it succeeds
    assert probe.status == "pending"
    assert scripted.calls == [phone(0), phone(1), phone(2), phone(4)]  # phone(5) never called
    assert inner["error"].reason == "breaker_open"
    assert inner["error"].extra["retry_after"] >= 1

    # Closed: every request goes through again.
    for i in range(6, 9):
        request_code(phone(i))
    assert len(scripted.calls) == 7


def test_a_probe_refused_by_a_limit_does_not_hold_the_probe_slot(scripted, small, settings):
    clock = small
    settings.FLASHCALL_RESEND_COOLDOWN = 600
    request_code(phone(0))  # phone(0) is now in its resend cooldown
    scripted.failure = ProviderError("server_error")
    for i in range(1, 4):
        with pytest.raises(ProviderUnavailable):
            request_code(phone(i))
    clock.advance(60)  # the breaker's cooldown is over, phone(0)'s is not

    with pytest.raises((RateLimited, ProviderUnavailable)):
        request_code(phone(0))  # refused without calling the provider
    assert len(scripted.calls) == 4

    scripted.failure = None
    probe = request_code(phone(5))  # so this one is the probe
    assert probe.status == "pending"
    assert scripted.calls[-1] == phone(5)


def test_breaker_probe_failure_reopens_it(scripted, small):
    clock = small
    scripted.failure = ProviderError("timeout")
    for i in range(3):
        with pytest.raises(ProviderUnavailable):
            request_code(phone(i))
    clock.advance(61)

    with pytest.raises(ProviderUnavailable) as info:
        request_code(phone(3))  # the probe, which fails
    assert info.value.reason == "timeout"
    assert len(scripted.calls) == 4

    with pytest.raises(ProviderUnavailable) as info:
        request_code(phone(4))
    assert info.value.reason == "breaker_open"
    assert info.value.extra["retry_after"] == 60  # a full cooldown from the probe's failure
    assert len(scripted.calls) == 4

    clock.advance(60)
    scripted.failure = None
    request_code(phone(5))
    request_code(phone(6))
    assert len(scripted.calls) == 6


def test_breaker_counts_consecutive_failures_only(scripted, small):
    failure = ProviderError("server_error")
    for i, fails in enumerate([True, True, False, True, True, False, True, True]):
        scripted.failure = failure if fails else None
        if fails:
            with pytest.raises(ProviderUnavailable) as info:
                request_code(phone(i))
            assert info.value.reason == "server_error"
        else:
            request_code(phone(i))
    assert len(scripted.calls) == 8  # never opened: a success in every run of 2


def test_breaker_threshold_setting(failing, settings):
    settings.FLASHCALL_BREAKER_THRESHOLD = 1
    with pytest.raises(ProviderUnavailable):
        request_code(phone(1))
    with pytest.raises(ProviderUnavailable) as info:
        request_code(phone(2))
    assert info.value.reason == "breaker_open"
    assert len(failing.calls) == 1


def test_default_breaker_threshold_is_five(failing):
    for i in range(5):
        with pytest.raises(ProviderUnavailable):
            request_code(phone(i))
    with pytest.raises(ProviderUnavailable) as info:
        request_code(phone(5))
    assert info.value.reason == "breaker_open"
    assert info.value.extra["retry_after"] == 60
    assert len(failing.calls) == 5


# --------------------------------------------------------------------------- shared cache

CHILD = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.test import override_settings
    from django_flashcall.internal import breaker

    caches, action = json.loads(sys.argv[1]), sys.argv[2]
    with override_settings(CACHES=caches, FLASHCALL_BREAKER_THRESHOLD=3):
        if action == "fail":
            for _ in range(3):
                breaker.record_failure()
        print(breaker.check())
    """
)


def _in_another_process(caches_setting: dict, action: str) -> int:
    import json

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(caches_setting), action],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.redis
def test_breaker_state_is_shared_between_processes(redis_url, settings):
    redis_caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": f"breaker-test-{uuid.uuid4()}",
        }
    }
    settings.CACHES = redis_caches
    settings.FLASHCALL_BREAKER_THRESHOLD = 3
    settings.FLASHCALL_BREAKER_COOLDOWN = 60
    try:
        assert _in_another_process(redis_caches, "check") == 0
        # Another process opens the breaker; this one sees it open.
        assert _in_another_process(redis_caches, "fail") == 60
        assert 55 <= breaker.check() <= 60
        # This process closes it; the other sees it closed.
        breaker.record_success()
        assert _in_another_process(redis_caches, "check") == 0
    finally:
        caches["default"].clear()
