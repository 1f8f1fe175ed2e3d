"""Placing the paid call: the providers in order, with failover (SPEC §8).

The attempt row (status ``calling``) is already in: it is the one row of
the request whatever the number of providers asked, so the cooldown, the
daily limit and the budget count the request once.

A provider whose breaker is open is skipped. After a failure that surely
placed no call (``ProviderError.no_call``: a refused connection, rejected
credentials, no funds, the provider's refusal before dialling) the next
provider is asked; after any other (a read timeout, a 5xx, an unreadable
answer) the request stops: the call may be ringing, and a second one would
confuse the user and be paid twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import partial
from typing import Any

from .. import signals
from ..conf import flashcall_settings
from ..exceptions import FlashCallError, InvalidPhone, ProviderUnavailable
from ..internal import breaker, budget
from ..internal.cache import CacheUnavailable, quietly
from ..internal.codes import hash_code
from ..internal.saves import save_fields
from ..models import CallAttempt, Channel, Reason, Status
from ..providers import BaseProvider, InvalidPhoneForProvider, ProviderError, ProviderResult
from .common import logger, send_signal

CACHE_RETRY = 30  # seconds a client is told to wait while the cache is down


def call_providers(
    attempt: CallAttempt,
    pending: int,
    request: Any,
    providers: Sequence[BaseProvider],
    states: Sequence[tuple[int, bool]],
) -> tuple[CallAttempt, str]:
    """Ask ``providers`` in order (``states``: their breakers' ``(wait, clean)``
    as peeked before the row went in); return the pending attempt and the
    code, or raise."""
    failed: list[str] = []
    waits: list[int] = []
    last: tuple[BaseProvider, ProviderError] | None = None
    for provider, (wait, clean) in zip(providers, states, strict=True):
        if not wait and not clean:
            # Half-open: take the single probe now, when the call is placed.
            try:
                wait = breaker.check(provider.name)
            except CacheUnavailable:
                wait = CACHE_RETRY
        if wait:
            waits.append(wait)
            continue
        failure = _send(provider, attempt)
        if isinstance(failure, ProviderResult):
            if not clean:
                quietly(partial(breaker.record_success, provider.name))
            return _placed(attempt, failure, provider, failed, pending, request), failure.code
        feed = breaker.record_failure if failure.trips_breaker else breaker.release_probe
        quietly(partial(feed, provider.name))
        _log(provider, attempt, failure)
        last = (provider, failure)
        if not failure.no_call:
            break  # the call may be ringing: nobody else is asked
        failed.append(provider.name)
    if last is None:
        # Every breaker turned out open (another process took the probe).
        error = ProviderUnavailable(retry_after=min(waits), reason=Reason.BREAKER_OPEN)
        attempt.status, attempt.channel, attempt.reason = (
            Status.REFUSED,
            Channel.NONE,
            Reason.BREAKER_OPEN,
        )
        budget.settle(attempt, ["status", "channel", "reason"])  # no call: not spent
        send_signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
        raise error
    provider, failure = last
    before = [name for name in failed if name != provider.name]
    _failed(attempt, provider, failure, before, request)
    raise AssertionError("unreachable")  # _failed raises


def _send(provider: BaseProvider, attempt: CallAttempt) -> ProviderResult | ProviderError:
    """The provider's answer, or its failure as a ProviderError (never raised
    here, so the caller decides; a provider's bug is a provider failure)."""
    try:
        if getattr(provider, "wants_context", False):
            send: Any = provider.send  # a provider of SPEC §8 takes the context too
            return send(
                attempt.phone,
                sms_fallback=attempt.sms_fallback,
                client_ip=attempt.ip,
                attempt_id=str(attempt.public_id),
            )
        return provider.send(attempt.phone, sms_fallback=attempt.sms_fallback)
    except ProviderError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001
        # Only the type is kept: a third-party exception's text may hold a URL
        # with a secret, and so may its traceback.
        return ProviderError(Reason.BAD_RESPONSE, f"the provider raised {type(exc).__name__}")


def _placed(
    attempt: CallAttempt,
    result: ProviderResult,
    provider: BaseProvider,
    failed: list[str],
    pending: int,
    request: Any,
) -> CallAttempt:
    if pending:
        # One live code per phone: a new call supersedes the previous one.
        CallAttempt.objects.filter(
            phone=attempt.phone, status=Status.PENDING, created_at__lt=attempt.created_at
        ).update(status=Status.EXPIRED)
    attempt.status = Status.PENDING
    attempt.channel = result.channel
    attempt.code_hash = hash_code(attempt.public_id, result.code)
    attempt.provider_id = result.provider_id
    attempt.provider = provider.name
    attempt.failed_before = ",".join(failed)[:100]
    attempt.expires_at = attempt.created_at + timedelta(seconds=flashcall_settings.CODE_TTL)
    fields = ["status", "channel", "code_hash", "provider_id", "provider", "expires_at"]
    if failed:
        fields.append("failed_before")
    if result.price is not None:
        attempt.price = result.price
        fields.append("price")
    save_fields(attempt, fields)
    send_signal(signals.code_requested, CallAttempt, attempt=attempt, request=request)
    return attempt


def _log(provider: BaseProvider, attempt: CallAttempt, failure: ProviderError) -> None:
    if failure.reason == Reason.UNAUTHORIZED:
        logger.error("The provider %s rejected its credentials: %s", provider.name, failure.message)
    elif failure.reason == Reason.NO_FUNDS:
        logger.error("The provider %s is out of money: %s", provider.name, failure.message)
    elif isinstance(failure, InvalidPhoneForProvider):
        # Every phone that gets here is a valid Russian mobile: a format
        # refusal more likely means the request itself is wrong.
        logger.error(
            "The provider %s refused the format of a valid phone: %s",
            provider.name,
            failure.message,
        )
    else:
        logger.warning(
            "Flash call to %s by %s failed: %s",
            attempt.phone[:4] + "…",
            provider.name,
            failure.message,
        )


def _failed(
    attempt: CallAttempt,
    provider: BaseProvider,
    failure: ProviderError,
    before: list[str],
    request: Any,
) -> None:
    """Record the request's failure on its row, then raise the error."""
    attempt.status, attempt.reason = Status.FAILED, failure.reason
    attempt.error = failure.message[:255]
    attempt.provider, attempt.failed_before = provider.name, ",".join(before)[:100]
    # A failure that surely placed no call gives its place in the budget back.
    budget.settle(attempt, ["status", "reason", "error", "provider", "failed_before"])
    error: FlashCallError = (
        InvalidPhone(reason=Reason.REJECTED)
        if isinstance(failure, InvalidPhoneForProvider)
        else ProviderUnavailable(reason=failure.reason)
    )
    send_signal(signals.code_failed, CallAttempt, attempt=attempt, request=request, error=error)
    raise error
