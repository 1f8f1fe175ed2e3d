"""``client_ip`` is worked out once per request, but not blindly: when what
it was worked out from changes on the same request (a middleware that
rewrites ``REMOTE_ADDR`` or a forwarded header after a first call, settings
overridden in between), the next call answers for the new values."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from django_flashcall.internal.net import client_ip


@pytest.mark.parametrize(
    ("proxies", "header", "key", "first", "second"),
    [
        (0, None, "REMOTE_ADDR", "203.0.113.1", "203.0.113.2"),
        (1, None, "HTTP_X_FORWARDED_FOR", "198.51.100.1", "198.51.100.2"),
        (0, "HTTP_X_REAL_IP", "HTTP_X_REAL_IP", "192.0.2.1", "192.0.2.2"),
    ],
    ids=["remote addr", "forwarded header", "client ip header"],
)
def test_a_rewritten_source_is_seen(settings, proxies, header, key, first, second):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = proxies
    settings.FLASHCALL_CLIENT_IP_HEADER = header
    meta = {"REMOTE_ADDR": "10.0.0.1", key: first}
    request = RequestFactory().get("/", **meta)
    assert client_ip(request) == first
    request.META[key] = second
    assert client_ip(request) == second


def test_settings_changed_between_calls_are_seen(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 0
    settings.FLASHCALL_CLIENT_IP_HEADER = None
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1", HTTP_X_REAL_IP="192.0.2.1"
    )
    assert client_ip(request) == "10.0.0.1"
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "198.51.100.1"
    settings.FLASHCALL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert client_ip(request) == "192.0.2.1"
