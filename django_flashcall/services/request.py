"""Requesting a call: the limits, the reservation, the paid call (SPEC §6),
and the test numbers of SPEC §8. The providers are asked by
:mod:`.placement` (order, failover)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest

from .. import signals
from ..conf import flashcall_settings
from ..exceptions import ChallengeRequired, ProviderUnavailable, RateLimited
from ..internal import abuse, breaker, budget, limits
from ..internal.cache import CacheUnavailable, quietly
from ..internal.clock import now
from ..internal.codes import hash_code
from ..models import CallAttempt, Channel, Reason, Status
from ..phone import normalize
from ..providers import get_providers
from .common import client_fields, logger, refuse, send_signal
from .placement import CACHE_RETRY, call_providers

__all__ = ["CACHE_RETRY", "place_call", "request_code", "test_code"]


def request_code(
    phone: str,
    *,
    request: HttpRequest | None = None,
    sms_fallback: bool | None = None,
    challenge: str | None = None,
) -> CallAttempt:
    """Place a flash call to ``phone``; return the pending attempt.

    Raises ``InvalidPhone``, ``RateLimited``, ``ChallengeRequired`` or
    ``ProviderUnavailable``, as :func:`place_call` does. ``challenge`` is the
    answer to ``FLASHCALL_CHALLENGE``, asked for only when the risk is high.
    """
    return place_call(phone, request=request, sms_fallback=sms_fallback, challenge=challenge)[0]


def test_code(stored: str) -> str | None:
    """The fixed code of a ``FLASHCALL_TEST_NUMBERS`` phone, else None."""
    numbers = flashcall_settings.TEST_NUMBERS
    if not numbers or not isinstance(numbers, dict):
        return None
    code = numbers.get(stored)
    return code if isinstance(code, str) and len(code) == 4 and code.isdigit() else None


def place_call(
    phone: str,
    *,
    request: HttpRequest | None = None,
    sms_fallback: bool | None = None,
    challenge: str | None = None,
) -> tuple[CallAttempt, str]:
    """:func:`request_code` for an integration whose framework checks the code
    itself (django-allauth keeps its own code and compares it): returns the
    pending attempt and the provider's code. The caller keeps the code on the
    server and confirms the attempt with ``confirm_code`` once its framework
    accepted the code, so the attempt still ends under this app's rules.

    Raises ``InvalidPhone``, ``RateLimited``, ``ChallengeRequired`` or
    ``ProviderUnavailable``, always after writing a ``CallAttempt`` row that
    says why (but for ``InvalidPhone``).
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
    fixed = test_code(stored)
    if fixed is not None:  # no paid call: the pumping guards have nothing to guard
        return _test_number(fields, refused, fixed, at, request), fixed
    providers = get_providers()
    risk: abuse.Risk | None = None
    try:
        # Fail fast when every provider's breaker is open, before touching
        # the database. A half-open one takes its probe only when it is asked.
        states = breaker.peek_all([p.name for p in providers])
        if all(wait for wait, _ in states):
            wait = min(wait for wait, _ in states)
            error = ProviderUnavailable(retry_after=wait, reason=Reason.BREAKER_OPEN)
            refuse({**refused, "reason": Reason.BREAKER_OPEN}, error, request)
        # The pumping guards: one cache read, before any lock or query, so
        # that a flood of suspect requests costs as little as possible. A call
        # they let through is counted now (abuse.release if it is not placed).
        risk = abuse.assess(stored, fields.get("ip"), at) if abuse.enabled() else None
        if risk is not None:
            abuse.screen(risk, request, stored, challenge)
        with limits.phone_lock(stored):
            state = limits.phone_state(stored, at)
            refusal = limits.refusal_for_phone(state, at)
            if refusal is not None:
                reason, retry_after = refusal
                raise RateLimited(retry_after=retry_after, reason=reason)
            # The row goes in before the call: it is the budget's
            # reservation, it holds the phone's cooldown while the call is
            # in flight, and it survives a process that dies mid-call.
            attempt = CallAttempt(**fields, status=Status.CALLING, channel=Channel.CALL)
            budget.reserve(attempt, at)
    except RateLimited as error:
        quietly(lambda: abuse.release(risk))
        refuse({**refused, "reason": error.reason}, error, request)
    except ChallengeRequired as error:
        seen = ",".join(risk.reasons) if risk else ""  # what raised the bar, for staff
        refuse({**refused, "reason": Reason.CHALLENGE, "error": seen}, error, request)
    except CacheUnavailable as exc:
        # Without the shared cache no limit can be trusted: fail closed.
        logger.error("Flash call refused: %s", exc)
        quietly(lambda: abuse.release(risk))
        down = ProviderUnavailable(retry_after=CACHE_RETRY, reason=Reason.CACHE_DOWN)
        refuse({**refused, "reason": Reason.CACHE_DOWN}, down, request)
    return call_providers(attempt, state.pending, request, providers, states)


def _test_number(
    fields: dict[str, Any], refused: dict[str, Any], code: str, at: datetime, request: Any
) -> CallAttempt:
    """A ``FLASHCALL_TEST_NUMBERS`` phone: every per-phone rule, no provider,
    no breaker, no budget (nothing is spent), the fixed code."""
    try:
        with limits.phone_lock(fields["phone"]):
            state = limits.phone_state(fields["phone"], at)
            refusal = limits.refusal_for_phone(state, at)
            if refusal is not None:
                reason, retry_after = refusal
                raise RateLimited(retry_after=retry_after, reason=reason)
            if state.pending:  # the new row is not in yet: every pending one is older
                CallAttempt.objects.filter(phone=fields["phone"], status=Status.PENDING).update(
                    status=Status.EXPIRED
                )
            attempt = CallAttempt(**fields, status=Status.PENDING, channel=Channel.TEST)
            attempt.code_hash = hash_code(attempt.public_id, code)
            attempt.expires_at = at + timedelta(seconds=flashcall_settings.CODE_TTL)
            attempt.save()
    except RateLimited as error:
        refuse({**refused, "reason": error.reason}, error, request)
    except CacheUnavailable as exc:
        logger.error("Flash call refused: %s", exc)
        down = ProviderUnavailable(retry_after=CACHE_RETRY, reason=Reason.CACHE_DOWN)
        refuse({**refused, "reason": Reason.CACHE_DOWN}, down, request)
    send_signal(signals.code_requested, CallAttempt, attempt=attempt, request=request)
    return attempt
