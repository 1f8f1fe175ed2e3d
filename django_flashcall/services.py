"""The rules of SPEC §6: request a call, confirm its code.

No HTTP and no DRF here: both the JSON API and the HTML pages call these two
functions and translate :class:`~django_flashcall.exceptions.FlashCallError`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from . import breaker, limits, signals, users
from .clock import now
from .codes import hash_code, locate, parse_code
from .conf import flashcall_settings
from .exceptions import (
    CodeExpired,
    FlashCallError,
    InvalidCode,
    InvalidPhone,
    NoActiveAttempt,
    PhoneTaken,
    ProviderUnavailable,
    RateLimited,
    TooManyAttempts,
)
from .models import CONFIRMABLE, CallAttempt, Channel, Reason, Status
from .phone import normalize
from .providers import InvalidPhoneForProvider, ProviderError, get_provider
from .shared_cache import CacheUnavailable, quietly

logger = logging.getLogger("django_flashcall")

CACHE_RETRY = 30  # seconds a client is told to wait while the cache is down

__all__ = ["confirm_code", "hash_code", "parse_code", "request_code"]


def _client(request: HttpRequest | None) -> dict[str, Any]:
    if request is None:
        return {}
    from .net import client_ip

    user = getattr(request, "user", None)
    return {
        "ip": client_ip(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:255],
        "user": user if user is not None and user.is_authenticated else None,
    }


def _signal(signal: Any, sender: Any, **kwargs: Any) -> None:
    """``send_robust``: a receiver's bug is logged, never a 500 after the
    attempt was already placed or consumed."""
    for receiver, result in signal.send_robust(sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("Signal receiver %r failed: %s", receiver, result, exc_info=result)


def _refuse(attempt_fields: dict[str, Any], error: FlashCallError, request: Any) -> None:
    """Record a refused or failed request, tell receivers, raise ``error``."""
    attempt = CallAttempt.objects.create(**attempt_fields)
    _signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
    raise error


def request_code(
    phone: str, *, request: HttpRequest | None = None, sms_fallback: bool | None = None
) -> CallAttempt:
    """Place a flash call to ``phone``; return the pending attempt.

    Raises ``InvalidPhone``, ``RateLimited`` or ``ProviderUnavailable``, always
    after writing a ``CallAttempt`` row that says why (but for ``InvalidPhone``).
    Must run in autocommit mode, not inside a transaction (see
    :func:`~django_flashcall.limits.check_autocommit`).
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
        **_client(request),
    }
    refused = {**fields, "status": Status.REFUSED, "channel": Channel.NONE}

    def breaker_refusal(wait: int) -> None:
        error = ProviderUnavailable(retry_after=wait, reason=Reason.BREAKER_OPEN)
        _refuse({**refused, "reason": Reason.BREAKER_OPEN}, error, request)

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
        _refuse({**refused, "reason": error.reason}, error, request)
    except CacheUnavailable as exc:
        # Without the shared cache no limit can be trusted: fail closed.
        logger.error("Flash call refused: %s", exc)
        error = ProviderUnavailable(retry_after=CACHE_RETRY, reason=Reason.CACHE_DOWN)
        _refuse({**refused, "reason": Reason.CACHE_DOWN}, error, request)
    return _place_call(attempt, state.pending, request, clean)


def _place_call(attempt: CallAttempt, pending: int, request: Any, clean: bool) -> CallAttempt:
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
    _signal(signals.code_requested, CallAttempt, attempt=attempt, request=request)
    return attempt


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
    _signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
    raise error


def confirm_code(
    phone: str | None = None,
    code: str = "",
    *,
    attempt_id: str | uuid.UUID | None = None,
    request: HttpRequest | None = None,
    create_user: bool | None = None,
) -> CallAttempt:
    """Check ``code`` against the phone's newest attempt (or ``attempt_id``).

    Returns the verified attempt. Raises ``InvalidCode`` (with
    ``attempts_left``), ``CodeExpired``, ``TooManyAttempts``,
    ``NoActiveAttempt``, ``InvalidPhone`` or ``InvalidRequest``. The check is
    counted in the same transaction, under a row lock, as the comparison.

    ``create_user``: whether an unknown phone gets a new user; by default
    ``FLASHCALL_CREATE_USERS``, but never in ``FLASHCALL_LOGIN = "none"``.
    """
    if isinstance(attempt_id, uuid.UUID):
        attempt_id = str(attempt_id)
    where = locate(phone, attempt_id)
    current = _client(request).get("user")
    if create_user is None:
        create_user = bool(flashcall_settings.CREATE_USERS) and flashcall_settings.LOGIN != "none"
    with transaction.atomic():
        attempt, error = _confirm_locked(where, code, current, create_user)
    if error is not None:
        # Raised after the transaction commits: a counted wrong code must stick.
        _signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
        raise error
    assert attempt is not None
    _signal(signals.code_verified, CallAttempt, attempt=attempt, request=request, user=attempt.user)
    return attempt


def _confirm_locked(
    where: Q, raw_code: object, current: Any, create_user: bool
) -> tuple[CallAttempt | None, FlashCallError | None]:
    max_checks = flashcall_settings.MAX_CHECKS
    attempt = (
        CallAttempt.objects.select_for_update()
        .filter(where, status__in=CONFIRMABLE)
        .order_by("-created_at")
        .first()
    )
    at = now()  # after the lock: a confirm that waited must not use a stale clock
    if attempt is None:
        return None, NoActiveAttempt()
    if attempt.status == Status.VERIFIED:
        return attempt, NoActiveAttempt()  # single use
    if attempt.status == Status.EXHAUSTED or attempt.checks_used >= max_checks:
        return attempt, TooManyAttempts()
    # A statement of its own, after the row lock: under READ COMMITTED it sees
    # the wrong codes that concurrent confirms committed while this one waited.
    phone = limits.phone_state(attempt.phone, at)
    if phone.failures >= flashcall_settings.PHONE_MAX_FAILURES:
        locked_for = limits.seconds_until(phone.oldest_failure + limits.DAY, at)
        return attempt, TooManyAttempts(reason=Reason.PHONE_LOCKED, retry_after=locked_for)
    # Expiry before comparison: an expired code is never compared.
    if attempt.status == Status.EXPIRED or attempt.is_expired_at(at):
        if attempt.status != Status.EXPIRED:
            _update(attempt, status=Status.EXPIRED)
        return attempt, CodeExpired()
    code = parse_code(raw_code)
    if code is None:  # cannot be a guess: costs no check
        return attempt, InvalidCode(attempts_left=max_checks - attempt.checks_used)
    if constant_time_compare(hash_code(attempt.public_id, code), attempt.code_hash):
        try:
            user = users.resolve(attempt.phone, current, create=create_user)
        except PhoneTaken as error:
            return attempt, error
        # Conditional on PENDING: of N concurrent right codes exactly one wins,
        # even where SELECT ... FOR UPDATE is a no-op (SQLite).
        if not _update(attempt, status=Status.VERIFIED, verified_at=at, user=user):
            return attempt, NoActiveAttempt()
        attempt.status, attempt.verified_at, attempt.user = Status.VERIFIED, at, user
        return attempt, None
    used = attempt.checks_used + 1
    counted = CallAttempt.objects.filter(
        pk=attempt.pk, status=Status.PENDING, checks_used__lt=max_checks
    ).update(
        checks_used=F("checks_used") + 1,
        status=Status.EXHAUSTED if used >= max_checks else Status.PENDING,
    )
    if not counted:
        return attempt, TooManyAttempts()
    attempt.checks_used = used
    # SPEC §4: the attempt's own count (the phone's lock may come sooner).
    return attempt, InvalidCode(attempts_left=max(0, max_checks - used))


def _update(attempt: CallAttempt, **values: Any) -> int:
    return CallAttempt.objects.filter(pk=attempt.pk, status=Status.PENDING).update(**values)


def expire(attempts: Any) -> int:
    """Expire the pending ones among ``attempts`` (an admin action); how many."""
    return attempts.filter(status=Status.PENDING).update(status=Status.EXPIRED)
