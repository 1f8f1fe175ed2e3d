"""One HTTP request to a provider, under the rules of SPEC §6; for every provider.

It is urllib3, which requests is built on, used directly: a provider call is
one GET with no cookies, auth, proxies or redirects to handle, and requests'
session machinery around it cost more CPU than the call itself (about
1.1 M instructions per call, measured with callgrind against the bench stub).

- Timeouts always apply (``FLASHCALL_TIMEOUT``, or the caller's).
- No redirect is followed: a 3xx comes back as an answer for the caller to
  refuse.
- TLS is verified against certifi's bundle, as requests does.
- Only a connection that was never made is retried (refused, unreachable,
  connect timeout): a request that may have been sent is never repeated, as
  a retried ``get_code`` would be a second paid call.
- Secrets travel in the URL (telefon-ip's path, sms.ru's ``api_id``): no
  exception raised here carries urllib3's text or the URL, and it is raised
  outside the ``except`` block so that not even ``__context__`` holds it.
- One connection pool per process (made anew after a fork) keeps connections
  alive between calls.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urlencode

import certifi
import urllib3
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry

from .. import __version__
from ..conf import flashcall_settings
from .base import ProviderError

MAX_BODY = 64 * 1024  # a real answer is ~100 bytes; more is refused unread
HEADERS = {
    "User-Agent": f"django-flashcall/{__version__}",
    "Accept": "application/json",
    "Accept-Encoding": "identity",  # the size limit applies to what is sent
}
RETRY = Retry(
    total=None,
    connect=2,  # refused / unreachable: the request never left, safe to retry
    read=False,  # sent: never retry (and let the read timeout through as such)
    status=0,
    other=0,
    redirect=0,
    raise_on_redirect=False,
    raise_on_status=False,
    backoff_factor=0.05,
)

_pool: urllib3.PoolManager | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


class Answer(NamedTuple):
    """A provider's answer: its HTTP status and its body (``too_large`` if
    the body passed :data:`MAX_BODY`; then ``body`` is its first bytes)."""

    status: int
    body: bytes
    too_large: bool = False


def make_pool() -> urllib3.PoolManager:
    return urllib3.PoolManager(
        num_pools=8,
        maxsize=32,  # threads of one process that may call at once, kept alive
        cert_reqs="CERT_REQUIRED",
        ca_certs=certifi.where(),
        headers=HEADERS,
    )


def get_pool() -> urllib3.PoolManager:
    """The process's shared pool (made anew after a fork: a forked child
    must not share its parent's sockets)."""
    global _pool, _pool_pid
    pid = os.getpid()
    if _pool is None or _pool_pid != pid:
        with _pool_lock:
            if _pool is None or _pool_pid != pid:
                _pool, _pool_pid = make_pool(), pid
                _hosts.clear()
    return _pool


# The connection pool of each provider origin ("https://host:port"), looked
# up by one match instead of urllib3's full URL parse on every call. Anything
# else (userinfo, an IPv6 literal, no path) goes through urllib3's parser.
_hosts: dict[str, HTTPConnectionPool] = {}
_PLAIN_URL = re.compile(r"(https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?)(/[^#]*)\Z")


def _route(url: str) -> tuple[HTTPConnectionPool, str] | None:
    """The pool for ``url``'s origin and the path to ask it; None for a URL
    that is not a plain ``http(s)://host[:port]/path`` (urllib3 routes it)."""
    match = _PLAIN_URL.match(url)
    if match is None:
        return None
    origin, path = match.groups()
    pools = get_pool()
    found = _hosts.get(origin)
    if found is None:
        found = _hosts[origin] = pools.connection_from_url(origin)
    return found, path


def timeout(value: float | tuple[float, float] | list[float] | None = None) -> urllib3.Timeout:
    """``FLASHCALL_TIMEOUT`` (seconds, or a ``(connect, read)`` pair) for urllib3."""
    value = flashcall_settings.TIMEOUT if value is None else value
    if isinstance(value, list | tuple):
        connect, read = value if len(value) == 2 else (value[0], value[0])
        return urllib3.Timeout(connect=connect, read=read)
    return urllib3.Timeout(connect=value, read=value)


def _failure(exc: Exception) -> ProviderError:
    """Our own words for a transport failure: "never sent" (``connection``,
    no call was placed) or "sent, answer lost" (``timeout``: maybe a paid
    call), told apart by the exception types, never by their text."""
    if isinstance(exc, MaxRetryError):
        exc = exc.reason or exc
    if isinstance(exc, SSLError):
        return ProviderError("connection", "TLS verification of the provider failed")
    # NewConnectionError is a ConnectTimeoutError in urllib3: test it first.
    if isinstance(exc, NewConnectionError):
        return ProviderError("connection", "the provider could not be reached")
    if isinstance(exc, ConnectTimeoutError):
        return ProviderError("connection", "connection to the provider timed out")
    if isinstance(exc, ReadTimeoutError):
        return ProviderError("timeout", "the provider did not answer in time")
    if isinstance(exc, ProtocolError):
        return ProviderError("timeout", "the provider closed the connection without an answer")
    return ProviderError("connection", f"request failed ({type(exc).__name__})")


def fetch(
    url: str,
    params: Mapping[str, str] | None = None,
    *,
    method: str = "GET",
    timeout_value: float | tuple[float, float] | None = None,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
) -> Answer:
    """Send one request and read its answer; every transport failure is a
    :class:`ProviderError` (``connection`` or ``timeout``).

    ``body`` and ``headers`` (added to :data:`HEADERS`) are for providers
    that keep their secret out of the URL (sms.ru's form, uCaller's
    ``Authorization`` header)."""
    if params:
        url += ("&" if "?" in url else "?") + urlencode(params)
    failure: ProviderError | None = None
    response = None
    extra = {"headers": {**HEADERS, **headers}} if headers else {}
    try:
        route = _route(url)
        if route is None:
            response = get_pool().urlopen(
                method,
                url,
                body=body,
                redirect=False,
                retries=RETRY,
                timeout=timeout(timeout_value),
                preload_content=False,
                **extra,
            )
        else:
            pool, path = route
            response = pool.urlopen(
                method,
                path,
                body=body,
                headers=extra.get("headers", HEADERS),
                redirect=False,
                assert_same_host=False,
                retries=RETRY,
                timeout=timeout(timeout_value),
                preload_content=False,
            )
    except (HTTPError, OSError) as exc:
        failure = _failure(exc)
    if failure is not None:
        raise failure  # outside the except block: no chained exception with the URL
    assert response is not None
    body = b""
    try:
        body = response.read(MAX_BODY + 1)
    except (HTTPError, OSError):
        failure = ProviderError("timeout", "the provider's answer was cut off")
    finally:
        # A body read to its end has given its connection back to the pool
        # already; one left unread (too large, cut off) is closed, not reused.
        response.close()
        response.release_conn()
    if failure is not None:
        raise failure
    if len(body) > MAX_BODY:
        return Answer(response.status, body[:MAX_BODY], too_large=True)
    return Answer(response.status, body)
