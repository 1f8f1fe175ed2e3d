"""The HTTP side of the sms.ru and uCaller fakes: the request they record
(:class:`FakeRequest`) and the handler that serves any
:class:`~django_flashcall.testing.fake_base.LoopbackFake`.

Standard library only. Nothing here logs: the secrets are in every request.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .handler import QuietHandler, _Dropped


@dataclass(frozen=True)
class FakeRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # lower-case names
    params: dict[str, str]  # query string, then form fields of a POST body
    json: Any  # the decoded JSON body, or None
    time: float

    @property
    def action(self) -> str:
        """The last path segment: ``call`` (sms.ru), ``initCall`` (uCaller)..."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    def field(self, name: str) -> str:
        """A parameter from the JSON body, the form or the query string."""
        if isinstance(self.json, dict) and name in self.json:
            value = self.json[name]
            return value if isinstance(value, str) else json.dumps(value)
        return self.params.get(name, "")


class JSONHandler(QuietHandler):
    """Serves a :class:`~django_flashcall.testing.fake_base.LoopbackFake`:
    records the request, plays its fault, or answers what ``fake.answer`` says."""

    def version_string(self) -> str:
        return self.server.fake.server_version

    def _serve(self) -> None:
        fake = self.server.fake
        request = _parse(self.command, self.path, dict(self.headers.items()), self._body())
        try:
            fault = self._play(fake._record(request), pause="timeout")
        except _Dropped:
            return
        if fault == "server_error":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self._send(502, page, {"Content-Type": "text/html"})
            return
        if fault == "malformed":
            self._send(200, b"<html>OK</html>", {"Content-Type": "text/html"})
            return
        with fake._lock:
            status, payload = fake.answer(request)
        if isinstance(payload, bytes):
            self._send(status, payload, {"Content-Type": "text/plain"})
        else:
            self._send(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def _parse(method: str, target: str, headers: dict[str, str], body: bytes) -> FakeRequest:
    split = urlsplit(target)
    params = dict(parse_qsl(split.query))
    lower = {k.lower(): v for k, v in headers.items()}
    decoded: Any = None
    if body:
        if "json" in lower.get("content-type", ""):
            try:
                decoded = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                decoded = None
        else:
            params.update(parse_qsl(body.decode("latin-1")))
    return FakeRequest(method, split.path, lower, params, decoded, time.time())
