"""The telefon-ip "authcalls" wire protocol (SPEC §1), as the fake speaks it.

Owns the URL shape, reading a request into a :class:`RecordedRequest`, the
JSON answers of ``get_code``, ``get_status`` and ``get_balance`` (with the
provider's rules: phone format, daily limit, funds), and the bodies of the
faults. No sockets here: ``handler.py`` moves the bytes.
"""

from __future__ import annotations

import json
import re
import time
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .state import FakeState, RecordedRequest

API_PATH = "/api/v1/authcalls/"
FORMAT_ERROR = "does not match the format 89XXXXXXXXX or phone field is missing"  # documented
# Not documented by the provider (its page says only "3 calls per phone per
# day"): the wording and the 200 status of these refusals are this fake's
# assumption. The client's reading of other plausible shapes is tested with
# ``responses`` in tests/test_provider_telefonip.py.
LIMIT_ERROR = "limit of calls per day exceeded"
FUNDS_ERROR = "insufficient funds"
_PATH = re.compile(
    r"^(?P<moved>/moved)?/api/v1/authcalls/(?P<token>[^/]+)/"
    r"(?P<action>get_code|get_status|get_balance)(?:/(?P<arg>[^/]*))?/?$"
)
_PROVIDER_PHONE = re.compile(r"^89\d{9}$")

Answer = tuple[int, dict[str, Any]]  # HTTP status, JSON payload


def parse(method: str, path: str, body: bytes) -> tuple[RecordedRequest, str]:
    """The request as recorded, and the path's argument (phone or call id).

    The action is "" unless the method is GET or POST and the path parses.
    """
    split = urlsplit(path)
    query = dict(parse_qsl(split.query))
    if method == "POST" and body:
        query.update(parse_qsl(body.decode("latin-1")))
    match = _PATH.match(split.path)
    token = unquote(match["token"]) if match else ""
    action = match["action"] if match else ""
    arg = unquote(match["arg"] or "") if match else ""
    phone = (arg or query.get("phone", "")) if action == "get_code" else ""
    known = method in {"GET", "POST"} and match is not None
    request = RecordedRequest(
        method, path, token, action if known else "", phone, query, time.time()
    )
    return request, arg


def answer(state: FakeState, request: RecordedRequest, arg: str) -> Answer:
    """The normal (unfaulted) answer to a request, placing a call if it asks for one."""
    with state._lock:
        if not request.action:
            return 404, error("not found")
        if request.token != state.token:
            return 401, error("Unauthorized token")
        if request.action == "get_code":
            sms = request.query.get("sms", "").lower() == "true"
            return _get_code(state, request.phone, sms)
        if request.action == "get_status":
            return _get_status(state, arg)
        if arg:
            return 404, error("not found")
        return _get_balance(state)


def fault_response(fault: str, path: str) -> tuple[int, bytes, dict[str, str]]:
    """Status, body and extra headers for a fault other than slow and drop."""
    json_type = {"Content-Type": "application/json"}
    if fault == "server_error":
        body = b"<html><body><h1>500 Internal Server Error</h1></body></html>"
        return 500, body, {"Content-Type": "text/html"}
    if fault == "malformed":
        return 200, b"<html>OK</html>", {"Content-Type": "text/html"}
    if fault == "success_false":
        return 200, dumps(error("service temporarily unavailable")), json_type
    if fault == "format_error":
        return 400, dumps(error(FORMAT_ERROR)), json_type
    if fault in {"bad_code", "missing_code"}:
        data: dict[str, Any] = {"phone": "79000000000", "id": 0}
        if fault == "bad_code":
            data["code"] = "12a"
        return 200, dumps({"success": True, "error": "", "data": data}), json_type
    if fault == "redirect":
        return 302, b"", {"Location": "/moved" + path}
    # The last of FAULTS (set_fault refuses any other name; slow and drop
    # are the handler's).
    assert fault == "huge", fault
    padding = "x" * (1024 * 1024)
    data = {"phone": "79000000000", "code": "1234", "id": 0, "padding": padding}
    return 200, dumps({"success": True, "error": "", "data": data}), json_type


def error(message: str) -> dict[str, Any]:
    return {"success": False, "error": message, "data": {}}


def dumps(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _price(state: FakeState, value: Decimal) -> float | str:
    return str(value) if state.price_as_string else float(value)


def _get_code(state: FakeState, phone: str, sms: bool) -> Answer:
    if not _PROVIDER_PHONE.match(phone):
        return 400, error(FORMAT_ERROR)
    if sum(1 for c in state.calls if c.phone == phone) >= state.daily_limit:
        return 200, error(LIMIT_ERROR)
    if state.balance - state.price < state.balance_limit:
        return 200, error(FUNDS_ERROR)
    call = state._place_call(phone, sms)
    data = {"phone": call.phone7, "code": call.code, "id": call.id}
    return 200, {"success": True, "error": "", "data": data}


def _get_status(state: FakeState, arg: str) -> Answer:
    call = state._call(int(arg)) if arg.isascii() and arg.isdigit() else None
    if call is None:
        return 400, error("id record not found")
    status: bool | int = call.delivered if state.status_as_bool else int(call.delivered)
    return 200, {
        "id": call.id,
        "created_at": call.created_at.isoformat(),
        "phone": call.phone,
        "status": status,
        "status_info": call.status_info,
        "price": _price(state, state.price),
    }


def _get_balance(state: FakeState) -> Answer:
    return 200, {
        "balance": _price(state, state.balance),
        "price": _price(state, state.price),
        "balance_limit": _price(state, state.balance_limit),
    }
