"""Requesting a call: the limits, the reservation, the paid call (SPEC §6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest

from .. import signals
from ..conf import flashcall_settings
from ..exceptions import FlashCallError, InvalidPhone, ProviderUnavailable, RateLimited
from ..internal import breaker, limits
from ..internal.cache import CacheUnavailable, quietly
from ..internal.clock import now
from ..internal.codes import hash_code
from ..models import CallAttempt, Channel, Reason, Status
from ..phone import normalize
from ..providers import InvalidPhoneForProvider, ProviderError, get_provider
from .common import client_fields, logger, refuse, send_signal

CACHE_RETRY = 30  # seconds a client is told to wait while the cache is down


def request_code(
    phone: str, *, request: HttpRequest | None = None, sms_fallback: bool | None = None
) -> CallAttempt:
    """Place a flash call to ``phone``; return the pending attempt.

    Raises ``InvalidPhone``, ``RateLimited`` or ``ProviderUnavailable``, as
    :func:`place_call` does.
    """
    return place_call(phone, request=request, sms_fallback=sms_fallback)[0]


def place_call(
    phone: str, *, request: HttpRequest | None = None, sms_fallback: bool | None = None
) -> tuple[CallAttempt, str]:
    """:func:`request_code` for an integration whose framework checks the code
    itself (django-allauth keeps its own code and compares it): returns the
    pending attempt and the provider's code. The caller keeps the code on the
    server and confirms the attempt with ``confirm_code`` once its framework
    accepted the code, so the attempt still ends under this app's rules.

    Raises ``InvalidPhone``, ``RateLimited`` or ``ProviderUnavailable``, always
    after writing a ``CallAttempt`` row that says why (but for ``InvalidPhone``).
    Must run in autocommit mode, not inside a transaction (see
    :func:`~django_flashcall.internal.limits.check_autocommit`).
    """
    limits.check_autocommit()
    stored = normalize(phone)
    # SMS costs more and is the tool of SMS-pumping fraud: a client may opt
    # out of the fallback, but only the site (FLASHCALL_SMS_FALLBACK) opts in.
    site_sms = bool(flashcall_settings.SMS_FALLBACK)
    sms_fallback = site_sms if sms_fallback is None else (bool(sms_fallback) and site_sms)
    at = now()
    fields: dict[str, Any] = {
        "phone": stored,
        "sms_fallback": sms_fallback,
        "created_at": at,
        **client_fields(request),
    }
    refused = {**fields, "status": Status.REFUSED, "channel": Channel.NONE}

    def breaker_refusal(wait: int) -> None:
        error = ProviderUnavailable(retry_after=wait, reason=Reason.BREAKER_OPEN)
        refuse({**refused, "reason": Reason.BREAKER_OPEN}, error, request)

    try:
        # Fail fast while the breaker is open, before touching the database...
        wait, clean = breaker.peek()
        if wait:
            breaker_refusal(wait)
        with limits.phone_lock(stored):
            state = limits.phone_state(stored, at)
            refusal = limits.refusal_for_phone(state, at)
            if refusal is not None:
                reason, retry_after = refusal
                raise RateLimited(retry_after=retry_after, reason=reason)
            with limits.site_lock():
                limits.check_budget(at)
                # ...but take the half-open breaker's single probe only now,
                # when the call will really be placed: a probe refused by a
                # limit above would hold the slot and test nothing.
                wait = 0 if clean else breaker.check()
                if wait:
                    breaker_refusal(wait)
                # The row goes in before the call: it is the budget's
                # reservation, it holds the phone's cooldown while the call
                # is in flight, and it survives a process that dies mid-call.
                attempt = CallAttempt.objects.create(
                    **fields, status=Status.CALLING, channel=Channel.CALL
                )
    except RateLimited as error:
        refuse({**refused, "reason": error.reason}, error, request)
    except CacheUnavailable as exc:
        # Without the shared cache no limit can be trusted: fail closed.
        logger.error("Flash call refused: %s", exc)
        down = ProviderUnavailable(retry_after=CACHE_RETRY, reason=Reason.CACHE_DOWN)
        refuse({**refused, "reason": Reason.CACHE_DOWN}, down, request)
    return _place_call(attempt, state.pending, request, clean)


def _place_call(
    attempt: CallAttempt, pending: int, request: Any, clean: bool
) -> tuple[CallAttempt, str]:
    failure: ProviderError | None = None
    try:
        result = get_provider().send(attempt.phone, sms_fallback=attempt.sms_fallback)
    except ProviderError as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001  a provider's bug is still a provider failure
        # Only the type is kept: a third-party exception's text may hold a URL
        # with the token, and so may its traceback.
        failure = ProviderError(Reason.BAD_RESPONSE, f"the provider raised {type(exc).__name__}")
    if failure is not None:
        _provider_failed(attempt, failure, request)
    if not clean:
        quietly(breaker.record_success)
    if pending:
        # One live code per phone: a new call supersedes the previous one.
        CallAttempt.objects.filter(
            phone=attempt.phone, status=Status.PENDING, created_at__lt=attempt.created_at
        ).update(status=Status.EXPIRED)
    attempt.status = Status.PENDING
    attempt.channel = result.channel
    attempt.code_hash = hash_code(attempt.public_id, result.code)
    attempt.provider_id = result.provider_id
    attempt.expires_at = attempt.created_at + timedelta(seconds=flashcall_settings.CODE_TTL)
    attempt.save(update_fields=["status", "channel", "code_hash", "provider_id", "expires_at"])
    send_signal(signals.code_requested, CallAttempt, attempt=attempt, request=request)
    return attempt, result.code


def _provider_failed(attempt: CallAttempt, failure: ProviderError, request: Any) -> None:
    """Record the failure on the attempt, feed the breaker, raise the error."""
    quietly(breaker.record_failure if failure.trips_breaker else breaker.release_probe)
    if failure.reason == Reason.UNAUTHORIZED:
        logger.error("The provider rejected FLASHCALL_API_TOKEN: %s", failure.message)
    elif isinstance(failure, InvalidPhoneForProvider):
        # Every phone that gets here has the documented 89XXXXXXXXX form: a
        # format refusal more likely means the request itself is wrong.
        logger.error("The provider refused the format of a valid phone: %s", failure.message)
    else:
        logger.warning("Flash call to %s failed: %s", attempt.phone[:4] + "…", failure.message)
    attempt.status, attempt.reason = Status.FAILED, failure.reason
    attempt.error = failure.message[:255]
    attempt.save(update_fields=["status", "reason", "error"])
    error: FlashCallError = (
        InvalidPhone(reason=Reason.REJECTED)
        if isinstance(failure, InvalidPhoneForProvider)
        else ProviderUnavailable(reason=failure.reason)
    )
    send_signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
    raise error
