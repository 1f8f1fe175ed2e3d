"""The one clock of the app, so tests can move time without sleeping
(like ``PasswordResetTokenGenerator._now`` in Django)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()


def now_ts() -> float:
    return now().timestamp()
