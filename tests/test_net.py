"""The client IP (rate limits, the attempt log): X-Forwarded-For is written by
the client and is trusted only as far as the site says it runs proxies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from django_flashcall.net import (
    REQUEST_GROUP,
    check_ip_rate,
    client_ip,
    rate_problem,
    ratelimit_key,
)

CLIENT = "203.0.113.7"
PROXY = "10.0.0.2"


def make(remote: str | None = PROXY, **meta: str):
    request = RequestFactory().get("/", **meta)
    if remote is None:
        del request.META["REMOTE_ADDR"]
    else:
        request.META["REMOTE_ADDR"] = remote
    return request


def test_remote_addr_by_default():
    assert client_ip(make(CLIENT)) == CLIENT


@pytest.mark.parametrize("forwarded", [CLIENT, f"1.2.3.4, {CLIENT}", "garbage", ""])
def test_x_forwarded_for_is_ignored_by_default(forwarded):
    assert client_ip(make(PROXY, HTTP_X_FORWARDED_FOR=forwarded)) == PROXY


def test_x_real_ip_is_ignored_by_default():
    assert client_ip(make(PROXY, HTTP_X_REAL_IP=CLIENT)) == PROXY


# --------------------------------------------------------------------------- proxies


def test_one_trusted_proxy_uses_the_address_it_appended(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    # The client wrote "6.6.6.6" itself; our proxy appended what it saw.
    request = make(PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {CLIENT}")
    assert client_ip(request) == CLIENT


def test_two_trusted_proxies(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 2
    request = make(PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {CLIENT}, 10.0.0.1")
    assert client_ip(request) == CLIENT


def test_fewer_hops_than_trusted_proxies_falls_back_to_remote_addr(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 3
    assert client_ip(make(PROXY, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {CLIENT}")) == PROXY


def test_missing_header_with_trusted_proxy_falls_back(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    assert client_ip(make(PROXY)) == PROXY


@pytest.mark.parametrize(
    "forwarded",
    [
        "not-an-ip",
        "unknown",
        f"{CLIENT}:1234",
        "999.1.1.1",
        "<script>",
        ",,,",
        " , ",
        "x" * 10_000,
        f"{CLIENT}\x00",
        "1.2.3.4, " * 2_000 + "bogus",
    ],
)
def test_garbage_forwarded_values_fall_back_to_remote_addr(settings, forwarded):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    assert client_ip(make(PROXY, HTTP_X_FORWARDED_FOR=forwarded)) == PROXY


def test_spaces_and_empty_items_are_tolerated(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    assert client_ip(make(PROXY, HTTP_X_FORWARDED_FOR=f" , 6.6.6.6 ,  {CLIENT} ")) == CLIENT


def test_ipv6_is_normalised(settings):
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    request = make(PROXY, HTTP_X_FORWARDED_FOR="2001:DB8:0:0::1")
    assert client_ip(request) == "2001:db8::1"
    assert client_ip(make("2001:DB8::0001")) == "2001:db8::1"


# --------------------------------------------------------------------------- header


def test_configured_header_is_used(settings):
    settings.FLASHCALL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    request = make(PROXY, HTTP_X_REAL_IP=CLIENT, HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_ip(request) == CLIENT


@pytest.mark.parametrize("value", ["", "garbage", "1.2.3.4.5", f"{CLIENT}, 6.6.6.6", "x" * 5000])
def test_garbage_in_the_configured_header_falls_back(settings, value):
    settings.FLASHCALL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert client_ip(make(PROXY, HTTP_X_REAL_IP=value)) == PROXY


def test_configured_header_missing_falls_back(settings):
    settings.FLASHCALL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    assert client_ip(make(PROXY)) == PROXY


def test_header_wins_over_trusted_proxies(settings):
    settings.FLASHCALL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    request = make(PROXY, HTTP_X_REAL_IP=CLIENT, HTTP_X_FORWARDED_FOR="6.6.6.6")
    assert client_ip(request) == CLIENT


# --------------------------------------------------------------------------- no address


@pytest.mark.parametrize("remote", [None, "", "garbage", "unix:/tmp/socket"])
def test_no_valid_address_is_none(remote):
    request = make(remote)
    assert client_ip(request) is None
    assert ratelimit_key("flashcall", request) == "unknown"


def test_ratelimit_key_is_the_client_ip(settings):
    assert ratelimit_key("flashcall", make(CLIENT)) == CLIENT
    settings.FLASHCALL_TRUSTED_PROXY_COUNT = 1
    assert ratelimit_key("flashcall", make(PROXY, HTTP_X_FORWARDED_FOR=CLIENT)) == CLIENT


def test_ipv4_clients_of_a_dual_stack_server_keep_their_own_address():
    # A server on "::" sees IPv4 clients as ::ffff:a.b.c.d: without unwrapping,
    # all of them would share the IPv6 bucket "::/64".
    one = RequestFactory().post("/", REMOTE_ADDR="::ffff:1.2.3.4")
    two = RequestFactory().post("/", REMOTE_ADDR="::ffff:5.6.7.8")
    assert client_ip(one) == "1.2.3.4"
    assert ratelimit_key("g", one) == "1.2.3.4"
    assert ratelimit_key("g", one) != ratelimit_key("g", two)


def test_ipv6_clients_share_their_64():
    one = RequestFactory().post("/", REMOTE_ADDR="2001:db8:1:2::10")
    two = RequestFactory().post("/", REMOTE_ADDR="2001:db8:1:2:ffff::1")
    other = RequestFactory().post("/", REMOTE_ADDR="2001:db8:1:3::10")
    assert ratelimit_key("g", one) == ratelimit_key("g", two) == "2001:db8:1:2::/64"
    assert ratelimit_key("g", other) != ratelimit_key("g", one)


# --------------------------------------------------------------------------- rates


def per_ip_rate(group: str, request) -> str:
    return "5/m"


@pytest.mark.parametrize(
    "rate", ["10/h", "100/d", "5/15m", "1/s", "3/", None, per_ip_rate, "tests.test_net.per_ip_rate"]
)
def test_rates_django_ratelimit_accepts(rate):
    assert rate_problem(rate) is None


@pytest.mark.parametrize(
    ("rate", "problem"),
    [
        ("2 /h", "is not a rate"),
        ("10 per hour", "is not a rate"),
        ("10/hour", "is not a rate"),
        ("10/0m", "is not a rate"),  # a zero period
        ("/h", "is not a rate"),
        (10, "is not a rate"),
        ("tests.test_net.nothing_here", "cannot be imported"),
        ("tests.test_net.CLIENT", "is not a callable"),
    ],
)
def test_rate_typos_are_named(rate, problem):
    assert problem in rate_problem(rate)


@pytest.mark.django_db
def test_a_bad_rate_fails_closed_instead_of_skipping_the_limit(settings):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2 /h"
    request = RequestFactory().post("/", REMOTE_ADDR=CLIENT)
    with pytest.raises(ImproperlyConfigured, match=r"FLASHCALL_RATELIMIT_REQUEST = '2 /h'"):
        check_ip_rate(request, REQUEST_GROUP, "RATELIMIT_REQUEST")
