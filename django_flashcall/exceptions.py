"""The domain errors. Each carries a stable ``code`` (SPEC §4) and a status.

No DRF imports here: the API translates these once, at its edge.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class FlashCallError(Exception):
    code = "error"
    status = 400
    default_detail = _("The request could not be completed.")

    def __init__(self, detail: Any = None, *, reason: str = "", **extra: Any) -> None:
        self.detail = detail if detail is not None else self.default_detail
        self.reason = reason  # internal: stored on the attempt, not sent to clients
        self.extra = extra  # sent to clients: attempts_left, retry_after
        super().__init__(str(self.detail))

    def as_dict(self) -> dict[str, Any]:
        return {"detail": str(self.detail), "code": self.code, **self.extra}


class InvalidPhone(FlashCallError, ValueError):
    code = "invalid_phone"
    default_detail = _("Enter a Russian mobile number, for example +7 912 345-67-89.")


class InvalidCode(FlashCallError):
    code = "invalid_code"
    default_detail = _("The code is wrong.")
    # The code of an earlier call, after a newer one replaced it.
    replaced_detail = _(
        "That is the code of an earlier call: a newer call replaced it. "
        "Type the last 4 digits of the latest call."
    )


class InvalidRequest(FlashCallError):
    code = "invalid_request"
    default_detail = _("The request is malformed.")


class NoActiveAttempt(FlashCallError):
    code = "no_active_attempt"
    default_detail = _("There is no pending call for this phone. Request a new call.")


class CodeExpired(FlashCallError):
    code = "code_expired"
    default_detail = _("The code has expired. Request a new call.")


class TooManyAttempts(FlashCallError):
    code = "too_many_attempts"
    status = 429
    default_detail = _("Too many wrong codes. Request a new call later.")

    def __init__(self, detail: Any = None, *, reason: str = "", **extra: Any) -> None:
        if detail is None and reason == "phone_locked":
            detail = LIMIT_DETAILS[reason]
        super().__init__(detail, reason=reason, **extra)


# What each limit tells the person it stops (keys: ``models.Reason`` values,
# and "ip"). One shared sentence would read as "you did something wrong"
# to someone who asked for one call and opened a second tab.
LIMIT_DETAILS = {
    "cooldown": _(
        "A call to this number is on its way. Enter its code, "
        "or ask for a new call when the wait is over."
    ),
    "phone_daily_limit": _("This number has had as many calls as allowed in 24 hours."),
    "phone_locked": _(
        "Too many wrong codes were entered for this number, so it is locked for a while."
    ),
    "daily_budget": _("The site has placed as many calls as it can for now."),
    "concurrent_request": _("A call to this number is being placed right now."),
    "ip": _("Too many calls were requested from your network (IP address)."),
}


class RateLimited(FlashCallError):
    code = "rate_limited"
    status = 429
    default_detail = _("Too many requests. Try again later.")

    def __init__(
        self, detail: Any = None, *, retry_after: int, reason: str = "", **extra: Any
    ) -> None:
        if detail is None:
            detail = LIMIT_DETAILS.get(str(reason))
        super().__init__(detail, reason=reason, retry_after=max(1, int(retry_after)), **extra)

    @property
    def retry_after(self) -> int:
        return self.extra["retry_after"]


class PhoneTaken(FlashCallError):
    code = "phone_taken"
    status = 409
    default_detail = _("This phone number belongs to another account.")


class ProviderUnavailable(FlashCallError):
    code = "provider_unavailable"
    status = 503
    default_detail = _("Calls cannot be placed right now. Try again in a minute.")


class ChallengeRequired(FlashCallError):
    """The risk is high (SPEC §10): answer ``FLASHCALL_CHALLENGE`` to get a call.

    Carries ``challenge`` (the question) when the challenge has a ``prompt``.
    """

    code = "challenge_required"
    status = 403
    default_detail = _("Please answer the check below to get a call.")
    wrong_detail = _("The answer to the check is wrong. Please try again.")


ERRORS: tuple[type[FlashCallError], ...] = (
    InvalidPhone,
    InvalidCode,
    InvalidRequest,
    NoActiveAttempt,
    CodeExpired,
    TooManyAttempts,
    RateLimited,
    PhoneTaken,
    ProviderUnavailable,
    ChallengeRequired,
)
