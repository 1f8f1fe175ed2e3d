"""What the services share: the client's fields on an attempt row, robust
signals, and the "record the refusal, then raise" step."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest

from .. import signals
from ..exceptions import FlashCallError
from ..internal.saves import insert
from ..models import CallAttempt

logger = logging.getLogger("django_flashcall")


def client_fields(request: HttpRequest | None) -> dict[str, Any]:
    """The attempt row's ``ip``, ``user_agent`` and ``user`` for ``request``."""
    if request is None:
        return {}
    from ..internal.net import client_ip

    user = getattr(request, "user", None)
    return {
        "ip": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255],
        "user": user if user is not None and user.is_authenticated else None,
    }


def send_signal(signal: Any, sender: Any, **kwargs: Any) -> None:
    """``send_robust``: a receiver's bug is logged, never a 500 after the
    attempt was already placed or consumed."""
    for receiver, result in signal.send_robust(sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("Signal receiver %r failed: %s", receiver, result, exc_info=result)


def refuse(attempt_fields: dict[str, Any], error: FlashCallError, request: Any) -> None:
    """Record a refused or failed request, tell receivers, raise ``error``."""
    attempt = CallAttempt(**attempt_fields)
    insert(attempt)
    send_signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
    raise error
