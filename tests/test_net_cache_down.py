"""The per-IP rate (django-ratelimit) when its cache is down.

The IP rate is a convenience on top of the real guards: the per-phone limits
and the budget (which fail closed on request when the shared cache is down)
and the attempt's own check count (in the database, for confirm). So a dead
rate-limit cache skips the IP rate, says so at WARNING without the cache's
URL, and never turns into a 500 (SPEC §4). These tests pin that choice.
"""

from __future__ import annotations

import json
import logging

import pytest

from django_flashcall.models import CallAttempt, Status
from tests.api_helpers import CONFIRM, REQUEST, assert_error, post
from tests.helpers import PHONE, code_for

pytestmark = pytest.mark.django_db

SECRET = "cache-password-never-logged"  # noqa: S105
DEAD = {
    "BACKEND": "django.core.cache.backends.redis.RedisCache",
    "LOCATION": f"redis://:{SECRET}@127.0.0.1:1/0",  # nothing listens on port 1
}
SKIPPED = "the IP rate limit is skipped"


@pytest.fixture
def dead_rate_cache(settings):
    """django-ratelimit's cache is down; the app's shared cache works."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "ratelimit": DEAD,
    }
    settings.RATELIMIT_USE_CACHE = "ratelimit"
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    settings.FLASHCALL_RATELIMIT_CONFIRM = "1/h"


def warnings_of(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "django_flashcall" and r.levelno == logging.WARNING
    ]


def test_request_skips_the_ip_rate_but_keeps_the_phone_limits(
    client, outbox, dead_rate_cache, caplog
):
    caplog.set_level(logging.WARNING, logger="django_flashcall")
    first = post(client, REQUEST, {"phone": PHONE})
    assert first.status_code == 201, first.content
    second = post(client, REQUEST, {"phone": "79244501004"})  # past "1/h": not counted
    assert second.status_code == 201, second.content
    again = post(client, REQUEST, {"phone": PHONE})
    assert_error(again, 429, "rate_limited")  # the phone's cooldown still holds
    assert len(outbox) == 2
    logged = warnings_of(caplog)
    assert logged and all(SKIPPED in m and "ConnectionError" in m for m in logged)
    assert SECRET not in caplog.text and "6379" not in caplog.text


def test_confirm_skips_the_ip_rate_and_still_counts_checks(
    client, outbox, dead_rate_cache, caplog, settings
):
    settings.FLASHCALL_LOGIN = "none"
    caplog.set_level(logging.WARNING, logger="django_flashcall")
    held = post(client, REQUEST, {"phone": PHONE}).json()["attempt_id"]
    code = code_for(outbox)
    wrong = f"{(int(code) + 1) % 10000:04d}"
    body = {"attempt_id": held, "code": wrong}
    body = assert_error(post(client, CONFIRM, body), 400, "invalid_code")
    assert body["attempts_left"] == 2
    right = post(client, CONFIRM, {"attempt_id": held, "code": code})
    assert right.status_code == 200, right.content
    assert json.loads(right.content)["verified"] is True
    assert CallAttempt.objects.get().status == Status.VERIFIED
    assert any(SKIPPED in m for m in warnings_of(caplog))
    assert SECRET not in caplog.text


def test_every_cache_down_fails_request_closed_and_confirm_still_works(
    client, outbox, settings, caplog
):
    settings.FLASHCALL_LOGIN = "none"
    assert post(client, REQUEST, {"phone": PHONE}).status_code == 201
    code = code_for(outbox)
    settings.CACHES = {"default": DEAD}
    refused = post(client, REQUEST, {"phone": "79244501004"})
    body = assert_error(refused, 503, "provider_unavailable")
    assert body["retry_after"] >= 1
    assert len(outbox) == 1  # no paid call without working limits
    right = post(client, CONFIRM, {"phone": PHONE, "code": code})
    assert right.status_code == 200, right.content
    assert SECRET not in caplog.text


def test_no_client_ip_skips_the_ip_rate(client, outbox, settings, caplog):
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    caplog.set_level(logging.WARNING, logger="django_flashcall")
    for number in (PHONE, "79244501004"):
        response = post(client, REQUEST, {"phone": number}, REMOTE_ADDR="")
        assert response.status_code == 201, response.content
    assert len(outbox) == 2
    assert any("No client IP" in m for m in warnings_of(caplog))
    assert CallAttempt.objects.filter(ip=None).count() == 2
