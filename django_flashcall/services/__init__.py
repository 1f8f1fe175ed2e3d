"""The rules of SPEC §6, as functions everything else calls.

The JSON API, the HTML pages, the auth backend, the admin's actions, the
management commands and the contrib integrations all go through these; none
of them holds a rule. No HTTP and no DRF here: callers translate
:class:`~django_flashcall.exceptions.FlashCallError` themselves.

- :func:`request_code` / :func:`confirm_code`: the flow (``request.py``,
  ``confirm.py``); :func:`place_call`, the same call returning its code, for
  an integration that compares codes itself (django-allauth);
- :func:`expire_attempts`, :func:`unlock_phone` and the cleanup sweeps:
  what staff and cron jobs do (``staff.py``);
- :func:`check_ip_rate`: the per-IP rate of the built-in views, for a view
  of your own that calls ``authenticate(phone=..., code=...)``;
- :func:`phone_of`: a user's verified phone.
"""

from __future__ import annotations

from ..internal.codes import hash_code, parse_code
from ..internal.net import CONFIRM_GROUP, REQUEST_GROUP, check_ip_rate
from ..internal.users import phone_of
from .confirm import confirm_code
from .request import place_call, request_code
from .staff import (
    Unlocked,
    delete_before,
    expire_attempts,
    expire_lapsed,
    fail_interrupted_calls,
    interrupted_calls,
    unlock_phone,
)

# The 0.1 name of expire_attempts().
expire = expire_attempts

__all__ = [
    "CONFIRM_GROUP",
    "REQUEST_GROUP",
    "Unlocked",
    "check_ip_rate",
    "confirm_code",
    "delete_before",
    "expire",
    "expire_attempts",
    "expire_lapsed",
    "fail_interrupted_calls",
    "hash_code",
    "interrupted_calls",
    "parse_code",
    "phone_of",
    "place_call",
    "request_code",
    "unlock_phone",
]
