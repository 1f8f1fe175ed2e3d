"""``services.check_ip_rate`` on its own, as a site's own view calls it:
POST requests only, the group and the request handed to a callable rate,
our 429 with reason ``ip`` and a ``retry_after`` of at least one second."""

from __future__ import annotations

import time
import zlib

import pytest
from django.test import RequestFactory

from django_flashcall.exceptions import RateLimited
from django_flashcall.services import REQUEST_GROUP, check_ip_rate

pytestmark = pytest.mark.django_db

IP = "203.0.113.7"
seen: list[tuple[str, str]] = []


def one_per_hour_for_requests(group, request):
    """A callable rate (FLASHCALL_RATELIMIT_REQUEST may name one)."""
    seen.append((group, request.META["REMOTE_ADDR"]))
    return "1/h" if group == REQUEST_GROUP else "1000/h"


def post():
    return RequestFactory().post("/", REMOTE_ADDR=IP)


def test_the_second_post_in_the_hour_is_limited(settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    check_ip_rate(post(), REQUEST_GROUP, "RATELIMIT_REQUEST")
    with pytest.raises(RateLimited) as info:
        check_ip_rate(post(), REQUEST_GROUP, "RATELIMIT_REQUEST")
    assert info.value.reason == "ip"
    assert 1 <= info.value.extra["retry_after"] <= 3600


def test_other_methods_are_not_counted(settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    for _ in range(3):
        check_ip_rate(RequestFactory().get("/", REMOTE_ADDR=IP), REQUEST_GROUP, "RATELIMIT_REQUEST")
    check_ip_rate(post(), REQUEST_GROUP, "RATELIMIT_REQUEST")  # the first counted one


def test_a_callable_rate_gets_the_group_and_the_request(settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "tests.test_net_rate.one_per_hour_for_requests"
    seen.clear()
    check_ip_rate(post(), REQUEST_GROUP, "RATELIMIT_REQUEST")
    with pytest.raises(RateLimited):
        check_ip_rate(post(), REQUEST_GROUP, "RATELIMIT_REQUEST")
    assert seen == [(REQUEST_GROUP, IP), (REQUEST_GROUP, IP)]


def test_the_last_second_of_a_window_still_says_one_second(settings, monkeypatch):
    """django-ratelimit says 0 s left in the last second of its window."""
    settings.FLASHCALL_RATELIMIT_REQUEST = "1/h"
    # The window of a key ends where the epoch's hours are offset by its CRC.
    offset = zlib.crc32(IP.encode()) % 3600
    end = 1_800_000_000 - 1_800_000_000 % 3600 + offset
    monkeypatch.setattr(time, "time", lambda: float(end))
    check_ip_rate(post(), REQUEST_GROUP, "RATELIMIT_REQUEST")
    with pytest.raises(RateLimited) as info:
        check_ip_rate(post(), REQUEST_GROUP, "RATELIMIT_REQUEST")
    assert info.value.extra["retry_after"] == 1
