"""``authenticate(request, phone=..., code=...)`` by flash-call code."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest

from .exceptions import FlashCallError

logger = logging.getLogger("django_flashcall")


class FlashCallBackend(BaseBackend):
    """Follows Django's backend contract: ``None`` lets the next backend try.

    A right code for a phone with no user creates one only when
    ``FLASHCALL_CREATE_USERS`` is on; an inactive user is refused like
    ``ModelBackend`` refuses one.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        phone: str | None = None,
        code: str | None = None,
        attempt_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if code is None or (phone is None and attempt_id is None):
            return None
        from .services import confirm_code

        try:
            attempt = confirm_code(phone, code, attempt_id=attempt_id, request=request)
        except FlashCallError as error:
            logger.debug("Flash-call authentication failed: %s", error.code)
            if request is not None:
                # Let the caller tell "wrong code" from "expired" (views read it).
                request.flashcall_error = error  # type: ignore[attr-defined]
            return None
        user = attempt.user
        if request is not None:
            request.flashcall_attempt = attempt  # type: ignore[attr-defined]
        if user is None or not self.user_can_authenticate(user):
            return None
        return user

    def user_can_authenticate(self, user: Any) -> bool:
        return getattr(user, "is_active", True)

    def get_user(self, user_id: Any) -> Any:
        User = get_user_model()
        try:
            user = User._default_manager.get(pk=user_id)
        except User.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
