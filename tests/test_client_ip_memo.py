"""``client_ip`` is worked out once per request, but not blindly: when what
it was worked out from changes on the same request (a middleware that
rewrites ``REMOTE_ADDR`` or a forwarded header after a first call, settings
overridden in between), the next call answers for the new values."""

from __future__ import annotations

from django.test import RequestFactory

from django_flashcall.internal.net import client_ip


def test_a_rewritten_remote_addr_is_seen(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 0
    settings.FLASHCALL_CLIENT_IP_HEADER = None
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.1")
    assert client_ip(request) == "203.0.113.1"
    request.META["REMOTE_ADDR"] = "203.0.113.2"
    assert client_ip(request) == "203.0.113.2"


def test_a_rewritten_forwarded_header_is_seen(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    settings.FLASHCALL_CLIENT_IP_HEADER = None
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert client_ip(request) == "198.51.100.1"
    request.META["HTTP_X_FORWARDED_FOR"] = "198.51.100.2"
    assert client_ip(request) == "198.51.100.2"


def test_a_rewritten_client_ip_header_is_seen(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 0
    settings.FLASHCALL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_REAL_IP="192.0.2.1")
    assert client_ip(request) == "192.0.2.1"
    request.META["HTTP_X_REAL_IP"] = "192.0.2.2"
    assert client_ip(request) == "192.0.2.2"


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
