"""``FlashCallDevice``: a django-otp device whose token is a flash call's code.

The device holds a phone and the id of the call it waits on; nothing else.
The call, the code's hash, the checks, the lock, the expiry and single use
are the services' (SPEC §6), so a second factor by flash call is bound by
exactly the rules of a login by flash call, and shows on the same
monitoring page. django-otp's own ``SideChannelDevice`` is not used: it
keeps its token in clear and compares it with ``==``.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import models, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, GenerateNotAllowed, TimestampMixin, VerifyNotAllowed

from ... import services
from ...conf import flashcall_settings
from ...exceptions import FlashCallError, RateLimited
from ...internal import limits
from ...internal.clock import now
from ...models import CallAttempt, Reason, Status
from ...phone import mask, normalize

logger = logging.getLogger("django_flashcall")


def validate_phone(value: str) -> None:
    from django.core.exceptions import ValidationError

    from ...exceptions import InvalidPhone

    try:
        normalize(value)
    except InvalidPhone as error:
        raise ValidationError(str(error.detail), code="invalid_phone") from None


class FlashCallDevice(TimestampMixin, Device):
    """A phone that answers flash calls: ``generate_challenge()`` places the
    call, ``verify_token()`` checks the last 4 digits of the calling number."""

    phone = models.CharField(
        _("phone"),
        max_length=40,
        validators=[validate_phone],
        help_text=_("A Russian mobile number in any usual spelling; kept as 79XXXXXXXXX."),
    )
    # The answer of the last generate_challenge() on this instance (not stored).
    challenge_message: str | None = None
    # The call this device waits on (CallAttempt.public_id); cleared when used.
    attempt_id = models.UUIDField(_("pending call"), null=True, blank=True, editable=False)

    class Meta(Device.Meta):
        verbose_name = _("flash-call device")
        verbose_name_plural = _("flash-call devices")

    def __str__(self) -> str:
        return f"{self.name} ({mask(self.phone)})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # One stored form, so every spelling shares the phone's limits.
        self.phone = normalize(self.phone)
        super().save(*args, **kwargs)

    # ------------------------------------------------------------------ challenge

    def generate_is_allowed(self) -> tuple[bool, dict[str, Any] | None]:
        """``(False, info)`` while a limit would refuse a call: the cooldown,
        the phone's daily limit or its lock after wrong codes."""
        at = now()
        refusal = limits.refusal_for_phone(limits.phone_state(normalize(self.phone), at), at)
        if refusal is None:
            return True, None
        reason, retry_after = refusal
        info: dict[str, Any] = {
            "reason": reason,
            "next_generation_at": at + timedelta(seconds=retry_after),
            "retry_after": retry_after,
            # What the services would answer: the same sentence as the pages'.
            "error_message": str(RateLimited(retry_after=retry_after, reason=reason).detail),
        }
        if reason == Reason.COOLDOWN:
            info["reason"] = GenerateNotAllowed.COOLDOWN_DURATION_PENDING
        return False, info

    def generate_challenge(self) -> str:
        """Place the call; return the message for the user.

        Like django-otp's email device, a refusal is returned as the message
        rather than raised (two-factor's login page calls this while it
        renders). The refusal's attempt row is written all the same.

        ``services.request_code`` must not run inside a transaction (its
        attempt row reserves the limits for every process). django-otp's
        ``OTPTokenForm`` asks for the challenge inside its own
        ``transaction.atomic()``: then the call is placed as soon as that
        transaction commits, and never if it rolls back.
        """
        self.challenge_message = self._challenge()
        return self.challenge_message

    def _challenge(self) -> str:
        allowed, info = self.generate_is_allowed()
        if not allowed:
            assert info is not None
            return str(info["error_message"])
        try:
            limits.check_autocommit()
        except transaction.TransactionManagementError:
            transaction.on_commit(self._place_call)
            return self._calling_message()
        error = self._place_call()
        return str(error.detail) if error is not None else self._calling_message()

    def _place_call(self) -> FlashCallError | None:
        try:
            attempt = services.request_code(self.phone)
        except FlashCallError as error:
            logger.info("Flash-call OTP challenge refused: %s", error.code)
            return error
        self.attempt_id = attempt.public_id
        if self.pk is not None:
            type(self).objects.filter(pk=self.pk).update(attempt_id=attempt.public_id)
        return None

    def _calling_message(self) -> str:
        return gettext(
            "We are calling %(phone)s: enter the last 4 digits of the calling number."
        ) % {"phone": mask(normalize(self.phone))}

    # ------------------------------------------------------------------ verification

    def verify_is_allowed(self) -> tuple[bool, dict[str, Any] | None]:
        """``(False, info)`` while the phone is locked after wrong codes
        (``FLASHCALL_PHONE_MAX_FAILURES``) or the pending call has used up its
        checks (``FLASHCALL_MAX_CHECKS``)."""
        at = now()
        state = limits.phone_state(normalize(self.phone), at)
        if state.failures >= flashcall_settings.PHONE_MAX_FAILURES and state.oldest_failure:
            return False, {
                "reason": VerifyNotAllowed.N_FAILED_ATTEMPTS,
                "failure_count": state.failures,
                "locked_until": state.oldest_failure + limits.DAY,
            }
        if self.attempt_id is not None:
            exhausted = CallAttempt.objects.filter(
                public_id=self.attempt_id, status=Status.EXHAUSTED
            ).exists()
            if exhausted:
                return False, {
                    "error_message": gettext("Too many wrong codes. Request a new call later.")
                }
        return True, None

    def verify_token(self, token: Any) -> bool:
        """Confirm the pending call's code with the services' rules; single use."""
        if self.attempt_id is None or not isinstance(token, str):
            return False
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            attempt = services.confirm_code(
                normalize(self.phone), token, attempt_id=self.attempt_id, create_user=False
            )
        except FlashCallError as error:
            logger.debug("Flash-call OTP token refused: %s", error.code)
            return False
        # The attempt names the device's user: the monitoring page and the
        # admin see whose second factor it was.
        CallAttempt.objects.filter(pk=attempt.pk).update(user=self.user_id)
        self.attempt_id = None
        self.set_last_used_timestamp(commit=False)
        self.save(update_fields=["attempt_id", "last_used_at"])
        return True
