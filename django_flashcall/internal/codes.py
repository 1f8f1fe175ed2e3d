"""Codes and the attempts they are checked against: pure helpers of ``services``.

A code is exactly 4 ASCII digits. It is stored only as an HMAC keyed with
``SECRET_KEY`` and bound to its attempt, so a leaked row reveals nothing and
a hash cannot be replayed against another attempt.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.utils.crypto import salted_hmac

from ..exceptions import InvalidRequest
from ..phone import normalize

# ASCII hex only: uuid.UUID() would also take other scripts' digits.
_UUID = re.compile(r"[0-9a-fA-F]{8}-?([0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}", re.ASCII)


def hash_code(attempt_id: uuid.UUID | str, code: str) -> str:
    """HMAC-SHA256 of the code, keyed with SECRET_KEY and bound to one attempt."""
    return salted_hmac(
        "django_flashcall.code", f"{attempt_id}:{code}", algorithm="sha256"
    ).hexdigest()


def parse_code(value: object) -> str | None:
    """The code if ``value`` is exactly 4 ASCII digits (spaces around allowed)."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.strip()
    if len(text) == 4 and text.isascii() and text.isdigit():
        return text
    return None


def locate(phone: str | None, attempt_id: object) -> dict[str, Any]:
    """Which attempt a confirm aims at, as field lookups: by id (and phone,
    if both are given) or by phone; ``InvalidRequest`` if neither is usable."""
    if attempt_id is not None:
        public_id = None
        if isinstance(attempt_id, str) and _UUID.fullmatch(attempt_id.strip()):
            public_id = uuid.UUID(attempt_id.strip())
        if public_id is None:
            raise InvalidRequest(reason="attempt_id")
        where: dict[str, Any] = {"public_id": public_id}
        if phone is not None:
            where["phone"] = normalize(phone)
        return where
    if phone is None:
        raise InvalidRequest(reason="missing phone")
    return {"phone": normalize(phone)}
