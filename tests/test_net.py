"""The client IP (rate limits, the attempt log): X-Forwarded-For is written by
the client and is trusted only as far as the site says it runs proxies."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory

from django_flashcall.internal.net import REQUEST_GROUP, check_ip_rate, client_ip, ratelimit_key
from django_flashcall.internal.rates import rate_misread, rate_problem, read

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


def broken_rate(group: str, request) -> str:
    return "5 per minute"


@pytest.mark.parametrize(
    ("rate", "reading"),
    [
        ("10/h", (10, 3600)),
        ("100/d", (100, 86400)),
        ("5/15m", (5, 900)),
        ("3/", (3, 1)),
        ("10/hour", (10, 3600)),  # django-ratelimit ignores what follows the unit
        ("5/minutes", (5, 60)),
        ((7, 30), (7, 30)),
    ],
)
def test_rates_are_read_as_django_ratelimit_reads_them(rate, reading):
    assert read(rate) == reading
    assert rate_problem(rate) is None and rate_misread(rate) is None
    if isinstance(rate, str):  # the reference: django-ratelimit's own parser
        from django_ratelimit.core import _split_rate

        assert _split_rate(rate) == reading


@pytest.mark.parametrize("rate", [None, per_ip_rate, "tests.test_net.per_ip_rate"])
def test_no_limit_and_callables_are_rates(rate):
    assert rate_problem(rate) is None


@pytest.mark.parametrize(
    ("rate", "problem"),
    [
        ("2 /h", "is not a rate"),
        ("10 per hour", "is not a rate"),
        ("/h", "is not a rate"),
        ("10/0m", "is not a rate"),  # a zero period
        (10, "is not a rate"),
        ((10, 0), "is not a rate"),
        ("tests.test_net.nothing_here", "cannot be imported"),
        ("tests.test_net.CLIENT", "is not a callable"),
    ],
)
def test_rates_django_ratelimit_cannot_read_are_named(rate, problem):
    assert problem in rate_problem(rate)


@pytest.mark.parametrize(
    ("rate", "reading"),
    [("10/week", "10 per 1 s"), ("10/H", "10 per 1 s"), ("10/month", "10 per 60 s")],
)
def test_rates_read_otherwise_than_written(rate, reading):
    assert rate_problem(rate) is None  # django-ratelimit runs with it...
    assert reading in rate_misread(rate)  # ...but not as meant: warning W004


@pytest.mark.django_db
@pytest.mark.parametrize("rate", ["2 /h", "tests.test_net.broken_rate"])
def test_a_bad_rate_fails_closed_instead_of_skipping_the_limit(settings, rate):
    settings.FLASHCALL_RATELIMIT_REQUEST = rate
    request = RequestFactory().post("/", REMOTE_ADDR=CLIENT)
    with pytest.raises(ImproperlyConfigured, match=r"FLASHCALL_RATELIMIT_REQUEST = '"):
        check_ip_rate(request, REQUEST_GROUP, "RATELIMIT_REQUEST")


@pytest.mark.django_db
def test_a_long_spelling_of_a_rate_still_limits(client, settings, flashcall_outbox):
    settings.FLASHCALL_RATELIMIT_REQUEST = "2/hour"
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    statuses = [
        client.post(
            "/api/flashcall/request/", {"phone": f"7924450100{i}"}, content_type="application/json"
        ).status_code
        for i in range(3)
    ]
    assert statuses == [201, 201, 429]


def test_the_0_1_import_path_still_works_and_says_where_to_go():
    import importlib
    import sys

    sys.modules.pop("django_flashcall.net", None)
    with pytest.warns(DeprecationWarning, match="services.check_ip_rate"):
        old = importlib.import_module("django_flashcall.net")
    from django_flashcall import services

    assert old.check_ip_rate is services.check_ip_rate
    assert old.CONFIRM_GROUP == services.CONFIRM_GROUP
