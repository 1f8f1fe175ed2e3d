"""What a verified phone turns into: the ``FLASHCALL_LOGIN`` modes (SPEC §3)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import login as django_login
from django.http import HttpRequest
from django.utils.module_loading import import_string

from ..conf import flashcall_settings
from ..models import CallAttempt

BACKEND = "django_flashcall.auth_backends.FlashCallBackend"


def can_log_in(user: Any) -> bool:
    return user is not None and getattr(user, "is_active", True)


def log_in(request: HttpRequest, user: Any, attempt: CallAttempt) -> dict[str, Any]:
    """Log ``user`` in per ``FLASHCALL_LOGIN``; return keys for the response.

    ``session`` uses ``django.contrib.auth.login``, which rotates the session
    key (no session fixation). ``token`` returns a DRF authtoken. ``none``
    only verifies. Anything else is a dotted path to
    ``callable(request, user, attempt) -> dict``.
    """
    mode = flashcall_settings.LOGIN
    if mode == "none" or not can_log_in(user):
        return {}
    if mode == "session":
        django_login(request, user, backend=BACKEND)
        return {}
    if mode == "token":
        from rest_framework.authtoken.models import Token

        token, _ = Token.objects.get_or_create(user=user)
        return {"token": token.key}
    hook = import_string(mode)
    extra = hook(request, user, attempt)
    return dict(extra or {})
