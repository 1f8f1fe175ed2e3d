"""Delivery status and price of placed calls, from the provider's ``get_status``.

Used by ``flashcall_sync_status`` (cron) and the admin's "fetch delivery
status" action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db.models import F

from ..internal.clock import now
from ..models import CallAttempt
from ..providers import BaseProvider, ProviderError, get_provider, get_providers
from ..providers.base import redact

# A provider answer about one id ("id record not found"): record it, go on.
# Anything else (timeout, 5xx, 401) means the provider is down: stop the run.
PER_ATTEMPT_REASONS = {"rejected"}


@dataclass
class SyncResult:
    checked: int = 0
    delivered: int = 0
    undelivered: int = 0
    unknown: int = 0  # the provider answered, but not whether it was delivered
    errors: int = 0  # the provider knew nothing of this id
    stopped: str = ""  # why the run stopped early (the provider failed), else ""
    checked_ids: list[int] = field(default_factory=list)  # pks of the attempts updated


def has_status(provider: BaseProvider) -> bool:
    """Whether the provider answers ``get_status`` (sms.ru does not: its
    price comes with the call)."""
    return type(provider).get_status is not BaseProvider.get_status


def _provider_of(attempt: CallAttempt) -> BaseProvider | None:
    """The configured provider that placed ``attempt`` (rows from before 0.2
    have no name: the first provider's); None if it is no longer configured."""
    if not attempt.provider:
        return get_provider()
    try:
        return get_provider(attempt.provider)
    except KeyError:
        return None


def sync_attempts(
    attempts: Iterable[CallAttempt], provider: BaseProvider | None = None
) -> SyncResult:
    """Ask each attempt's provider (or ``provider``) about its ``provider_id``;
    store the answers.

    Raises ``NotImplementedError`` when no provider of these attempts has a
    ``get_status``.
    """
    result = SyncResult()
    asked = False
    for attempt in attempts:
        if not attempt.provider_id:
            continue
        own = provider or _provider_of(attempt)
        if own is None or not has_status(own):
            continue
        asked = True
        failure: ProviderError | None = None
        try:
            status = own.get_status(attempt.provider_id)
        except ProviderError as exc:
            failure = exc
        checked_at = now()
        if failure is not None:
            message = redact(failure.message)[:255]
            if failure.reason not in PER_ATTEMPT_REASONS:
                result.stopped = f"{own.name}: {message}" if own.name else message
                break
            result.checked += 1
            result.checked_ids.append(attempt.pk)
            result.errors += 1
            CallAttempt.objects.filter(pk=attempt.pk).update(
                delivery_info=message, status_checked_at=checked_at
            )
            continue
        values: dict[str, Any] = {
            "delivery_status": status.delivered,
            "delivery_info": redact(status.info)[:255],
            "status_checked_at": checked_at,
        }
        if status.price is not None:
            values["price"] = status.price
        CallAttempt.objects.filter(pk=attempt.pk).update(**values)
        result.checked += 1
        result.checked_ids.append(attempt.pk)
        if status.delivered is True:
            result.delivered += 1
        elif status.delivered is False:
            result.undelivered += 1
        else:
            result.unknown += 1
    if not asked:
        candidates = [provider] if provider is not None else get_providers()
        if not any(map(has_status, candidates)):
            raise NotImplementedError("no provider reports delivery status")
    return result


def due_for_sync(since_hours: float, min_age: float) -> Any:
    """Attempts with a provider id and no delivery status yet, never-checked first."""
    at = now()
    # Calls of providers without get_status would come first forever (never
    # checked) and crowd the others out of --limit.
    silent = [p.name for p in get_providers() if not has_status(p)]
    return (
        CallAttempt.objects.exclude(provider_id="")
        .exclude(provider__in=silent)
        .filter(
            delivery_status__isnull=True,
            created_at__gte=at - timedelta(hours=since_hours),
            created_at__lte=at - timedelta(seconds=min_age),
        )
        .order_by(F("status_checked_at").asc(nulls_first=True), "created_at")
    )
