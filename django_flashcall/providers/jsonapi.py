"""One JSON exchange with sms.ru or uCaller, over :func:`.transport.fetch`
(its rules: timeouts, no redirects, TLS verified, only a connection never
made retried).

Both keep the secret out of the URL: sms.ru's ``api_id`` in a POST form,
uCaller's key in the ``Authorization`` header, so not even urllib3's DEBUG
request lines carry it (the log filter redacts it anyway).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from . import transport
from .base import ProviderError

__all__ = ["exchange"]


def exchange(
    method: str,
    url: str,
    *,
    params: dict[str, str] | None = None,
    data: dict[str, str] | None = None,
    json_body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any] | None]:
    """Send one request; return the HTTP status and the JSON object (or None
    when the body is not a JSON object).

    Raises :class:`ProviderError` for a transport failure (``connection``
    when surely nothing was sent, ``timeout`` when it may have been), a
    redirect, a 5xx (``server_error``) or an oversized answer.
    """
    sent_headers = dict(headers or {})
    body: bytes | None = None
    if data is not None:
        body = urlencode(data).encode()
        sent_headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif json_body is not None:
        body = json.dumps(json_body).encode()
        sent_headers["Content-Type"] = "application/json"
    answer = transport.fetch(url, params, method=method, body=body, headers=sent_headers)
    return read_json(answer)


def read_json(answer: transport.Answer) -> tuple[int, dict[str, Any] | None]:
    """``(status, JSON object or None)`` of an answer any provider may give.

    A redirect, a 5xx or an oversized body is a :class:`ProviderError`; a body
    that is not a JSON object is None, for the caller to judge by the status.
    """
    status = answer.status
    if 300 <= status < 400:
        raise ProviderError("bad_response", f"the provider answered a redirect ({status})")
    if status >= 500:
        raise ProviderError("server_error", f"the provider answered HTTP {status}")
    if answer.too_large:
        raise ProviderError("bad_response", "the provider's answer is too large")
    try:
        decoded = json.loads(answer.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        decoded = None
    return status, decoded if isinstance(decoded, dict) else None
