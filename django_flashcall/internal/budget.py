"""The site budget (``FLASHCALL_DAILY_BUDGET``): calls per rolling 24 h,
counted without counting a day of rows.

One ledger row (:class:`~django_flashcall.models.BudgetLedger`) keeps

- ``calls``: the calls it has counted whose ``created_at`` is at or after
  ``swept_to``;
- ``swept_to``: the lower edge of the window when it was last brought up
  to date;
- ``last_id``: the highest attempt id it has looked at.

Every request that meets the budget locks that row (``SELECT … FOR
UPDATE``: the site lock), brings it up to date at its own ``at`` and, if
there is room, inserts its attempt row (status ``calling``, the
reservation) in the same transaction. Bringing it up to date reads two
short ranges of the attempt table, by index:

- the calls that left the window since the last request: counted ones
  (``id <= last_id``) with ``swept_to <= created_at < at - 24 h``;
- the attempts written since then (``id > last_id``): the previous
  request's reservation, and the refusals written outside the lock.

Each attempt is added once and dropped once, so the work per request is
constant on average, whatever the day's volume: about one row each way
when today's traffic looks like yesterday's. The count is exact to the
microsecond (``created_at >= at - 24 h``, as the rows say), and, because
both ranges are read under the lock after the previous holder committed,
exact under any concurrency.

What keeps it exact:

- the budget counts :func:`spends_q`: the calls (``models.called_q``) but
  those to ``FLASHCALL_TEST_NUMBERS``. A row may stop counting only while
  it is ``calling``, when its request ends without a call (a failure that
  surely placed none, ``models.NOT_PLACED``; every breaker open), and that
  change goes through :func:`settle`, in one transaction with the ledger;
- rows are deleted only after the ledger swept past them
  (:func:`sweep`, which ``flashcall_cleanup`` runs first);
- every process that places calls has the budget set: a process without
  it neither locks nor writes the ledger, so a call it places while a
  budgeted process is bringing the ledger up to date may be missed (the
  next full :func:`recount` finds it).

Databases without ``SELECT … FOR UPDATE`` (SQLite) also take the site lock
in the shared cache, as before.
"""

from __future__ import annotations

import json
import math
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Max, Q
from django.db.models.signals import post_save, pre_save

from ..conf import flashcall_settings
from ..exceptions import RateLimited
from ..models import (
    CALLED,
    NOT_PLACED,
    BudgetLedger,
    CallAttempt,
    Channel,
    Reason,
    Status,
    called_q,
)
from .saves import insert, save_fields

DAY = timedelta(days=1)
LEDGER = 1  # the ledger's primary key: one row for the site
NEVER = datetime(2000, 1, 1, tzinfo=UTC)


def spends_q() -> Q:
    """The attempts the budget counts: the calls (``models.called_q``) but
    those to ``FLASHCALL_TEST_NUMBERS``, which place nothing."""
    return called_q() & ~Q(channel=Channel.TEST)


def spends(attempt: CallAttempt) -> bool:
    """:func:`spends_q` for one attempt in memory."""
    if attempt.channel == Channel.TEST or attempt.status not in CALLED:
        return False
    return not (attempt.status == Status.FAILED and attempt.reason in NOT_PLACED)


def _seconds_until(moment: datetime, at: datetime) -> int:
    return max(1, math.ceil((moment - at).total_seconds()))


def _locked_ledger() -> BudgetLedger:
    """The ledger row, locked until the transaction ends; made if missing
    (a new site, or a test database that was flushed)."""
    ledger, _ = BudgetLedger.objects.select_for_update().get_or_create(
        pk=LEDGER, defaults={"calls": 0, "swept_to": NEVER, "last_id": 0}
    )
    return ledger


def _bring_up_to_date(ledger: BudgetLedger, at: datetime) -> int:
    """Sweep and catch up the (locked) ledger at ``at``; the calls in ``at``'s window."""
    edge = at - DAY
    swept, last = ledger.swept_to, ledger.last_id
    new_swept = max(swept, edge)
    called = spends_q()
    leaving = Q(pk__lte=last, created_at__gte=swept, created_at__lt=new_swept)
    written = Q(pk__gt=last)
    # A request whose clock lags the last one (it took `at` before waiting
    # for the lock) also counts the calls between its edge and swept_to.
    lagging = Q(created_at__gte=edge, created_at__lt=swept)
    where = leaving | written | lagging if edge < swept else leaving | written
    row = (
        CallAttempt.objects.filter(where)
        .order_by()
        .aggregate(
            dropped=Count("pk", filter=called & leaving),
            added=Count("pk", filter=called & written & Q(created_at__gte=new_swept)),
            extra=Count("pk", filter=called & lagging),
            top=Max("pk", filter=written),
        )
    )
    calls = ledger.calls - row["dropped"] + row["added"]
    top = max(last, row["top"] or 0)
    if (calls, new_swept, top) != (ledger.calls, swept, last):
        BudgetLedger.objects.filter(pk=LEDGER).update(calls=calls, swept_to=new_swept, last_id=top)
        ledger.calls, ledger.swept_to, ledger.last_id = calls, new_swept, top
    return calls + (row["extra"] if edge < swept else 0)


def _json_value(value: Any) -> str:
    """Values json cannot write: datetimes with every microsecond
    (DjangoJSONEncoder drops three digits); UUIDs, decimals and addresses as
    text, which PostgreSQL reads back into the column's type."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _predicate(at: datetime, budget: int) -> list[Any]:
    """The function's first arguments: :func:`spends_q` as lists."""
    return [at, budget, list(CALLED), list(NOT_PLACED), [Channel.TEST.value]]


def _reserve_in_one_statement(attempt: CallAttempt, at: datetime, budget: int) -> bool:
    """:data:`~.budget_sql.PG_RESERVE` for ``attempt``; whether it was written (its id set)."""
    row = {
        field.column: field.get_db_prep_save(field.pre_save(attempt, True), connection)
        for field in CallAttempt._meta.concrete_fields
        if not field.primary_key
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT django_flashcall_reserve(%s, %s, %s, %s, %s, %s)",
            [*_predicate(at, budget), json.dumps(row, default=_json_value)],
        )
        (new_id,) = cursor.fetchone()
    if new_id is None:
        return False
    attempt.pk = new_id
    attempt._state.adding = False
    attempt._state.db = connection.alias
    return True


def _retry_after(at: datetime) -> int:
    """Seconds until the oldest call of ``at``'s window leaves it."""
    oldest = (
        CallAttempt.objects.filter(spends_q(), created_at__gte=at - DAY)
        .order_by("created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return _seconds_until((oldest or at) + DAY, at)


def _cache_lock() -> Any:
    """The shared cache's site lock, where the database cannot lock a row."""
    if connection.features.has_select_for_update:
        return nullcontext()
    from .limits import site_lock

    return site_lock()


def reserve(attempt: CallAttempt, at: datetime) -> None:
    """Write ``attempt`` (status ``calling``, not yet saved) as the budget's
    reservation for one call at ``at``, or raise :class:`RateLimited`.

    Without ``FLASHCALL_DAILY_BUDGET`` the row is simply written. On
    PostgreSQL the whole reservation is one statement (:data:`~.budget_sql.PG_RESERVE`):
    about as cheap as the plain insert it replaces.
    """
    budget = flashcall_settings.DAILY_BUDGET
    if budget is None:
        insert(attempt)
        return
    receivers = pre_save.has_listeners(CallAttempt) or post_save.has_listeners(CallAttempt)
    if connection.vendor == "postgresql" and not receivers:
        if _reserve_in_one_statement(attempt, at, budget):
            return
    else:
        with _cache_lock(), transaction.atomic():
            if _bring_up_to_date(_locked_ledger(), at) < budget:
                insert(attempt)  # pre_save/post_save receivers get the real save
                return
            # Not raised here: the sweep commits, and the next request does
            # not do it again.
    raise RateLimited(retry_after=_retry_after(at), reason=Reason.BUDGET)


def settle(attempt: CallAttempt, fields: list[str]) -> None:
    """Save ``fields`` of a ``calling`` attempt whose new state no longer
    spends (a failure that surely placed no call, a request every breaker
    refused): its reservation goes back to the budget if the ledger counted
    it. Any other change is a plain save.

    One transaction, the ledger locked first: no request can count the row
    between the two writes, and the lock order (ledger, then attempt) is
    the reservation's.
    """
    if spends(attempt):
        save_fields(attempt, fields)
        return
    with transaction.atomic():
        ledger = BudgetLedger.objects.select_for_update().filter(pk=LEDGER).first()
        save_fields(attempt, fields)
        if ledger is None:
            return  # no ledger yet: the first count will read the row as it is now
        if ledger.last_id >= attempt.pk and attempt.created_at >= ledger.swept_to:
            BudgetLedger.objects.filter(pk=LEDGER).update(calls=F("calls") - 1)


def sweep(at: datetime) -> None:
    """Bring the ledger up to date at ``at``: rows older than ``at - 24 h``
    may then be deleted without changing its count (``flashcall_cleanup``)."""
    with _cache_lock(), transaction.atomic():
        _bring_up_to_date(_locked_ledger(), at)


def recount(at: datetime) -> int:
    """Count the calls of the last 24 h from the rows and start the ledger
    over from that count; returns it. Reads a day of rows under the site
    lock: for a repair, not for every request."""
    with _cache_lock(), transaction.atomic():
        ledger = _locked_ledger()
        edge = at - DAY
        top = CallAttempt.objects.aggregate(top=Max("pk"))["top"] or 0
        calls = CallAttempt.objects.filter(spends_q(), created_at__gte=edge, pk__lte=top).count()
        BudgetLedger.objects.filter(pk=ledger.pk).update(calls=calls, swept_to=edge, last_id=top)
        return calls


def window_calls(at: datetime) -> int:
    """The calls the budget counts in ``at``'s window (brings the ledger up to date)."""
    with _cache_lock(), transaction.atomic():
        return _bring_up_to_date(_locked_ledger(), at)
