"""The spend guards, checked before every paid call (SPEC §6).

Per phone, the database is the durable record: one aggregate query over the
phone's last 24 h gives the cooldown, the daily count and the failure lock.
It is exact across processes because a short per-phone lock in the shared
cache (``cache.add`` is atomic) lets one request per phone at a time through
the check → insert → call sequence.

Site-wide, the budget (:mod:`.budget`) keeps a running count of the last
24 h of calls, calls in flight included, and the reservation row is written
under its lock; here is only the shared cache's site lock it falls back to
on databases that cannot lock a row (SQLite).
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from ..conf import flashcall_settings
from ..exceptions import RateLimited
from ..models import CALLED, CallAttempt, Reason, Status, called_q
from .cache import GuardedCache, quietly, shared_cache
from .prepared import PreparedSelect

DAY = timedelta(days=1)
RESETS = (Status.VERIFIED, Status.UNLOCKED)
SITE_LOCK = "flashcall:budget-lock"
LOCK_WAIT = 2.0  # seconds a request waits for the site lock before giving up
LOCK_TTL = 10  # seconds a lock outlives a process that died holding it


def _cache() -> GuardedCache:
    return shared_cache()


def seconds_until(moment: datetime, at: datetime) -> int:
    return max(1, math.ceil((moment - at).total_seconds()))


@dataclass
class PhoneState:
    calls: int = 0
    last_call: datetime | None = None
    oldest_call: datetime | None = None
    failures: int = 0
    oldest_failure: datetime | None = None
    pending: int = 0
    phone_only_failures: int = 0
    # (pk, status, checks_used) of the attempts whose wrong codes count now:
    # the last 24 h, since the last success or staff unlock (those reset the
    # count; a new call does not).
    failing: list[tuple[int, str, int]] = field(default_factory=list)


# Run on every request and again on every confirm: compiled once (prepared.py).
_PHONE_ROWS = PreparedSelect(
    lambda phone, since: (
        CallAttempt.objects.filter(called_q() | Q(status__in=RESETS))
        .filter(phone=phone, created_at__gte=since)
        .order_by()
        .values_list(
            "status",
            "reason",
            "created_at",
            "checks_used",
            "expires_at",
            "verified_at",
            "pk",
            "phone_only_checks",
        )
    ),
    CallAttempt,
    phone="phone",
    since="created_at",
)


def phone_state(phone: str, at: datetime) -> PhoneState:
    """Everything the limits need about ``phone``, from one plain query.

    The rows of one phone in 24 h are a handful (the daily limit keeps them
    few), so they are summed here rather than by an aggregate with filtered
    subqueries, which costs the database and the ORM several times more.
    """
    since = at - DAY
    rows = _PHONE_ROWS.rows(phone=phone, since=since)
    # A staff unlock lifts the cooldown and the daily limit too: calls before
    # the newest marker stop counting for the phone (the site budget still
    # counts them). (created_at, pk) orders a call made in the marker's second.
    # The query (called_q) has left out the failures that placed no call.
    unlocked = max(((r[2], r[6]) for r in rows if r[0] == Status.UNLOCKED), default=None)
    called = [r for r in rows if r[0] in CALLED and (unlocked is None or (r[2], r[6]) > unlocked)]
    state = PhoneState(calls=len(called))
    if called:
        state.last_call = max(r[2] for r in called)
        state.oldest_call = min(r[2] for r in called)
    # A success or a staff unlock resets the phone's wrong codes.
    floor = max((r[5] for r in rows if r[0] in RESETS and r[5] is not None), default=since)
    wrong = [r for r in rows if r[3] > 0 and r[2] > floor]
    state.failing = [(r[6], r[0], r[3]) for r in wrong]
    # Wrong codes sent by phone alone may be anyone's: they never lock the
    # phone, and have a count of their own (services.confirm_code).
    owners = [r for r in wrong if r[3] > r[7]]
    state.failures = sum(r[3] - r[7] for r in owners)
    state.oldest_failure = min((r[2] for r in owners), default=None)
    state.phone_only_failures = sum(r[7] for r in wrong)
    state.pending = sum(
        1 for r in rows if r[0] == Status.PENDING and r[4] is not None and r[4] > at
    )
    return state


def refusal_for_phone(state: PhoneState, at: datetime) -> tuple[str, int] | None:
    """``(reason, retry_after)`` if a limit refuses a new call, else None."""
    s = flashcall_settings
    if state.failures >= s.PHONE_MAX_FAILURES and state.oldest_failure is not None:
        return Reason.PHONE_LOCKED, seconds_until(state.oldest_failure + DAY, at)
    if state.last_call is not None and s.RESEND_COOLDOWN:
        ready = state.last_call + timedelta(seconds=s.RESEND_COOLDOWN)
        if ready > at:
            return Reason.COOLDOWN, seconds_until(ready, at)
    if state.calls >= s.PHONE_DAILY_LIMIT and state.oldest_call is not None:
        return Reason.PHONE_DAILY, seconds_until(state.oldest_call + DAY, at)
    return None


@contextmanager
def _lock(key: str, *, wait: float, refusal: Callable[[], RateLimited]) -> Iterator[None]:
    """A short lock in the shared cache (``cache.add`` is atomic), released
    only by its owner; ``refusal()`` is raised if it cannot be had in ``wait``
    (made only then: most requests get the lock)."""
    cache = _cache()
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    pause = 0.002
    while not cache.add(key, token, LOCK_TTL):
        if time.monotonic() >= deadline:
            raise refusal()
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    try:
        yield
    finally:

        def release() -> None:
            if cache.get(key) == token:  # not someone else's after a timeout
                cache.delete(key)

        quietly(release)


def check_autocommit() -> None:
    """Refuse to place a call inside the caller's transaction.

    The limits hold because the ``calling`` row is visible to every other
    process from the moment the locks are released. Inside a transaction
    (``ATOMIC_REQUESTS``, or ``request_code()`` under ``atomic()``) it would
    stay invisible while the paid call is in flight, and concurrent requests
    would each see room under the cooldown, the daily limit and the budget.
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # A Django test case's own atomic blocks do not hide the row from the test.
        blocks = connection.atomic_blocks
        hidden = any(not getattr(block, "_from_testcase", False) for block in blocks)
    else:
        hidden = not connection.get_autocommit()  # set_autocommit(False), AUTOCOMMIT off
    if hidden:
        raise transaction.TransactionManagementError(
            "django_flashcall.services.request_code() must run outside a transaction: "
            "its attempt row reserves the limits for the paid call and must be committed "
            "at once. Decorate the view with @transaction.non_atomic_requests."
        )


def phone_lock(phone: str) -> Any:
    """One request per phone at a time through check → insert. The inserted
    row (status ``calling``) then holds the phone's cooldown during the call."""

    def busy() -> RateLimited:
        retry_after = max(1, int(flashcall_settings.RESEND_COOLDOWN or 1))
        return RateLimited(retry_after=retry_after, reason=Reason.BUSY)

    return _lock(f"flashcall:phone-lock:{phone}", wait=0, refusal=busy)


@contextmanager
def site_lock() -> Iterator[None]:
    """Serialise the site budget's check → insert across processes where the
    database has no row locks (SQLite); only when ``FLASHCALL_DAILY_BUDGET``
    is set. Never held across the call."""
    if flashcall_settings.DAILY_BUDGET is None:
        yield
        return
    with _lock(
        SITE_LOCK, wait=LOCK_WAIT, refusal=lambda: RateLimited(retry_after=1, reason=Reason.BUSY)
    ):
        yield
