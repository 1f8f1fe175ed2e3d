"""The floor: the least any flash-call login must do, as plain Django views.

Request: one provider call over a shared ``requests.Session``, one INSERT of
the keyed hash of the code. Confirm: one SELECT of the phone's newest pending
row, one conditional UPDATE. No limits, no rate limit, no circuit breaker, no
DRF, no ORM. Served by the same gunicorn and the same middleware as the app,
so ``app flows/s ÷ floor flows/s`` is the price of everything else.
"""

from __future__ import annotations

import hmac
import json
import threading
from hashlib import sha256

import requests
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

TABLE = "bench_floor_attempt"
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    phone varchar(11) NOT NULL,
    code_hash varchar(64) NOT NULL,
    status varchar(10) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS {TABLE}_phone ON {TABLE} (phone, id DESC);
"""

_session: requests.Session | None = None
_lock = threading.Lock()


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(SCHEMA)


def _get_session() -> requests.Session:
    global _session
    with _lock:
        if _session is None:
            _session = requests.Session()
        return _session


def _hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), sha256).hexdigest()


def _body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


@csrf_exempt
@require_POST
def request_view(request: HttpRequest) -> JsonResponse:
    phone = str(_body(request).get("phone", ""))
    if len(phone) != 11 or not phone.isdigit():
        return JsonResponse({"code": "invalid_phone"}, status=400)
    url = f"{settings.FLASHCALL_API_URL}{settings.FLASHCALL_API_TOKEN}/get_code/8{phone[1:]}/"
    try:
        answer = _get_session().get(url, timeout=settings.FLASHCALL_TIMEOUT).json()
        code = answer["data"]["code"]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return JsonResponse({"code": "provider_unavailable"}, status=503)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (phone, code_hash, status) VALUES (%s, %s, 'pending') "
            "RETURNING id",
            [phone, _hash(phone, code)],
        )
        (attempt_id,) = cursor.fetchone()
    return JsonResponse({"attempt_id": attempt_id, "phone": phone}, status=201)


@csrf_exempt
@require_POST
def confirm_view(request: HttpRequest) -> JsonResponse:
    data = _body(request)
    phone, code = str(data.get("phone", "")), str(data.get("code", ""))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, code_hash FROM {TABLE} WHERE phone = %s AND status = 'pending' "
            "ORDER BY id DESC LIMIT 1",
            [phone],
        )
        row = cursor.fetchone()
        if row is None or not hmac.compare_digest(row[1], _hash(phone, code)):
            return JsonResponse({"code": "invalid_code"}, status=400)
        cursor.execute(
            f"UPDATE {TABLE} SET status = 'verified' WHERE id = %s AND status = 'pending'",
            [row[0]],
        )
        if cursor.rowcount != 1:
            return JsonResponse({"code": "no_active_attempt"}, status=400)
    return JsonResponse({"verified": True, "phone": phone}, status=200)
