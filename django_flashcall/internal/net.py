"""The client IP, for rate limits and the attempt log.

By default it is ``REMOTE_ADDR``: ``X-Forwarded-For`` is written by the
client and must not be trusted unless a proxy you run sets it. Behind one
proxy, set ``FLASHCALL_TRUSTED_PROXY_COUNT = 1`` (the address that proxy
appended is used); or name a header your proxy sets and clients cannot,
e.g. ``FLASHCALL_CLIENT_IP_HEADER = "HTTP_X_REAL_IP"``.
"""

from __future__ import annotations

import ipaddress
import logging

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from ..conf import flashcall_settings
from .rates import rate_problem, resolve

logger = logging.getLogger("django_flashcall")


def _valid(value: str) -> str | None:
    value = value.strip()
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # A server listening on "::" sees IPv4 clients as ::ffff:a.b.c.d: unwrap
    # them, or every IPv4 client would share the IPv6 /64 bucket "::/64".
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


def client_ip(request: HttpRequest) -> str | None:
    header = flashcall_settings.CLIENT_IP_HEADER
    hops = int(flashcall_settings.TRUSTED_PROXY_COUNT or 0)
    meta = request.META
    # Asked three times per request (IP rate key, its check, the attempt
    # row): parsed once for the same settings and headers.
    inputs = (
        header,
        hops,
        meta.get(header) if header else None,
        meta.get("HTTP_X_FORWARDED_FOR") if hops > 0 else None,
        meta.get("REMOTE_ADDR"),
    )
    known = getattr(request, "_flashcall_client_ip", None)
    if known is not None and known[0] == inputs:
        return known[1]
    ip = _client_ip(request, header, hops)
    request._flashcall_client_ip = (inputs, ip)  # type: ignore[attr-defined]
    return ip


def _client_ip(request: HttpRequest, header: str | None, hops: int) -> str | None:
    if header:
        ip = _valid(request.META.get(header, ""))
        if ip:
            return ip
    if hops > 0:
        forwarded = [
            p for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if len(forwarded) >= hops:
            ip = _valid(forwarded[-hops])
            if ip:
                return ip
    return _valid(request.META.get("REMOTE_ADDR", ""))


def ratelimit_key(group: str, request: HttpRequest) -> str:
    """A django-ratelimit key callable: the client IP, as above.

    An IPv6 client usually holds a whole /64, so the /64 is the key (as
    django-ratelimit's own ``ip`` key does); the attempt log keeps the address.
    """
    ip = client_ip(request)
    if ip is None:  # check_ip_rate does not call us then
        return "unknown"
    if ":" in ip:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return ip


# One IP budget per door pair: the JSON API and the HTML pages share these.
REQUEST_GROUP = "django_flashcall.request"
CONFIRM_GROUP = "django_flashcall.confirm"


def check_ip_rate(request: HttpRequest, group: str, setting: str) -> None:
    """The per-IP rate of SPEC §3 (``FLASHCALL_<setting>``) through
    django-ratelimit with a callable key, raised as our ``RateLimited`` 429:
    django-ratelimit's own ``Ratelimited`` is a PermissionDenied, a 403."""
    from django_ratelimit.core import get_usage

    from ..exceptions import RateLimited

    rate = resolve(getattr(flashcall_settings, setting), group, request)
    problem = rate_problem(rate)
    if problem is not None:  # system check E005 reports a bad setting at start
        raise ImproperlyConfigured(f"FLASHCALL_{setting} = {rate!r} {problem}.")
    if client_ip(request) is None:
        # No address (a unix socket and no proxy setting): one shared bucket
        # would let one client lock everyone out. The phone limits still hold.
        logger.warning("No client IP on %s: the IP rate limit is skipped", request.path)
        return
    try:
        usage = get_usage(
            request,
            group=group,
            key=ratelimit_key,
            rate=rate,
            method=["POST"],
            increment=True,
        )
    except Exception as exc:  # noqa: BLE001  the cache is down
        # The per-phone limits need the cache too and fail closed on request;
        # confirm's guards live in the database. Skip this one, say so (the
        # type only: a cache client's message may hold its URL and password).
        logger.warning(
            "The cache is unavailable (%s): the IP rate limit is skipped", type(exc).__name__
        )
        return
    if usage is not None and usage["should_limit"]:
        # time_left is -1 when django-ratelimit could not read its counter.
        raise RateLimited(retry_after=max(1, usage["time_left"]), reason="ip")
