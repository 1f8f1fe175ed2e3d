"""Staff and housekeeping rules: expire attempts, unlock a phone, the
cleanup sweeps. The admin's actions and the management commands call these;
none of the rules lives in the admin or in a command."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max, Min, QuerySet

from ..conf import timeout_total
from ..internal import budget, limits
from ..internal.clock import now
from ..models import CallAttempt, CallAttemptQuerySet, Channel, Reason, Status

# A "calling" row older than any provider request can take (connect + read
# timeouts) plus this margin belongs to a process that died mid-call.
INTERRUPTED_MARGIN = 60


def expire_attempts(attempts: CallAttemptQuerySet) -> int:
    """Expire the pending ones among ``attempts``; return how many."""
    return attempts.expire()


@dataclass(frozen=True)
class Unlocked:
    """What :func:`unlock_phone` did: its marker row, the wrong codes it
    forgave, the live attempts it expired and the calls it stopped counting
    against the phone's cooldown and daily limit."""

    marker: CallAttempt
    forgiven: int
    expired: int
    calls: int = 0


def unlock_phone(phone: str, *, by: str = "", at: datetime | None = None) -> Unlocked | None:
    """Lift every per-phone limit of ``phone`` (stored form): the wrong-code
    lock, the resend cooldown and the daily limit. None if none of them has
    anything to count (no wrong code, no call in the last 24 h).

    A marker row (status ``unlocked``) resets the wrong-code count the way a
    success does, and the calls before it stop counting for the phone (not
    for the site budget: those calls were paid for). The attempts themselves
    stay, as evidence. A live attempt with wrong codes is expired: an unlock
    must not hand out fresh guesses at a code that is already being guessed.
    The provider's own per-phone cap, if it has one, is not ours to lift.
    """
    at = at or now()
    state = limits.phone_state(phone, at)
    counted = state.failing
    if not counted and not state.calls:
        return None
    live = [pk for pk, status, _ in counted if status == Status.PENDING]
    expired = CallAttempt.objects.filter(pk__in=live).expire()
    marker = CallAttempt.objects.create(
        phone=phone,
        status=Status.UNLOCKED,
        channel=Channel.NONE,
        created_at=at,
        verified_at=at,
        user=None,
        error=f"unlocked by {by}"[:255] if by else "unlocked by staff",
    )
    return Unlocked(
        marker=marker,
        forgiven=sum(n for _, _, n in counted),
        expired=expired,
        calls=state.calls,
    )


def expire_lapsed(at: datetime | None = None) -> int:
    """Mark pending attempts past their TTL ``expired`` (as a confirm would)."""
    return CallAttempt.objects.lapsed(at or now()).expire()


def interrupted_calls(at: datetime | None = None) -> QuerySet[CallAttempt]:
    """``calling`` rows left by a process that died mid-call."""
    before = (at or now()) - timedelta(seconds=timeout_total() + INTERRUPTED_MARGIN)
    return CallAttempt.objects.filter(status=Status.CALLING, created_at__lt=before)


def fail_interrupted_calls(at: datetime | None = None) -> int:
    """Mark interrupted calls ``failed``. The call may have been placed, so
    the row keeps counting against the limits, now as a failure that says so."""
    return interrupted_calls(at).update(
        status=Status.FAILED,
        reason=Reason.TIMEOUT,
        error="interrupted: the process placing the call did not finish",
    )


def delete_before(
    cutoff: datetime,
    *,
    batch_size: int = 5000,
    pause: float = 0.0,
    progress: Callable[[int, int, int], None] | None = None,
) -> tuple[int, int]:
    """Delete attempts created before ``cutoff``; return ``(deleted, batches)``.

    Deletes in primary-key windows of ``batch_size`` rows, each its own short
    transaction, so a large purge never holds a long lock on the table.
    ``progress(first_id, last_id, deleted)`` is told about every batch.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    # The budget's running count must drop these rows before they go: it
    # subtracts the calls that leave its window by reading them.
    at = now()
    in_window = cutoff > at - budget.DAY
    budget.sweep(at if in_window else cutoff + budget.DAY)
    old = CallAttempt.objects.filter(created_at__lt=cutoff)
    bounds = old.aggregate(lo=Min("pk"), hi=Max("pk"))
    lo, hi = bounds["lo"], bounds["hi"]
    deleted = batches = 0
    while lo is not None and lo <= hi:
        with transaction.atomic():
            n, _ = old.filter(pk__gte=lo, pk__lt=lo + batch_size).delete()
        deleted += n
        batches += 1
        if progress is not None:
            progress(lo, lo + batch_size - 1, n)
        # Jump over gaps in the ids (rows kept, or deleted earlier).
        lo = old.filter(pk__gte=lo + batch_size, pk__lte=hi).aggregate(lo=Min("pk"))["lo"]
        if lo is not None and pause:
            time.sleep(pause)
    if in_window and deleted:
        budget.recount(at)  # calls of the last 24 h were deleted: count again
    return deleted, batches
