"""The report's totals and timeline from the 15-minute counts.

A window ``[since, until)`` is cut in three: the whole slots inside it,
read from :class:`~django_flashcall.models.CallCount` (two grouped queries
over at most 2,880 slots for 30 days, whatever the row count), and the two
partial slots at its ends, read from the attempt rows (at most 15 minutes
each, by the ``created_at`` index). The result is the rows' own numbers,
not an estimate: :func:`row_totals` computes the same from the rows alone,
and the tests hold the two equal.

One number depends on the moment rather than on the row: a ``pending``
attempt whose code lapsed by ``until`` counts as expired. The counts cannot
know that, so the pending attempts still live at ``until`` are counted from
the rows (few: a code lives minutes; the partial index on ``expires_at``
finds them), and the rest of the slots' pending ones are the lapsed ones.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, IntegerField, Q, Sum
from django.db.models.functions import Coalesce

from ..models import CallAttempt, CallCount, Status
from . import counts
from .report import Bucket, Summary
from .stats import PLACED, PRICE_QUANTUM, breakdown, summarize

SUMS = ("n", "wrong", "spend", "priced", "delivered", "undelivered")


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * counts.SLOT, UTC)


def row_totals(
    since: datetime, until: datetime, bucket: str, starts: list[datetime]
) -> tuple[Summary, list[Bucket]]:
    """The totals and timeline of ``[since, until)`` from the attempt rows alone."""
    return summarize(list(breakdown(since, until, bucket, lapsed_by=until)), starts)


def totals(
    since: datetime, until: datetime, bucket: str, starts: list[datetime]
) -> tuple[Summary, list[Bucket]]:
    """The totals and timeline of ``[since, until)``: counts for the whole
    slots, rows for the partial ones at the ends."""
    first = math.ceil(since.timestamp() / counts.SLOT)
    last = math.floor(until.timestamp() / counts.SLOT)
    if first >= last or not counts.active(connection):
        return row_totals(since, until, bucket, starts)
    inner_since, inner_until = slot_start(first), slot_start(last)
    rows = []
    for lo, hi in ((since, inner_since), (inner_until, until)):  # empty when aligned
        rows += list(breakdown(lo, hi, bucket, lapsed_by=until))
    inner = CallCount.objects.filter(slot__gte=first, slot__lt=last).order_by()
    by_outcome: list[dict[str, Any]] = [
        dict(row)
        for row in inner.values("status", "reason").annotate(**{s: Sum(s) for s in SUMS}).order_by()
    ]
    # No bucket: these rows go to the totals only; the timeline comes below.
    rows += [{**row, "bucket": None, "stale": 0} for row in by_outcome]
    summary, timeline = summarize(rows, starts)

    pending = sum(r["n"] for r in by_outcome if r["status"] == Status.PENDING)
    live = (
        CallAttempt.objects.filter(
            status=Status.PENDING, created_at__gte=inner_since, created_at__lt=inner_until
        )
        .filter(Q(expires_at__gt=until) | Q(expires_at__isnull=True))
        .count()
    )
    summary.expired += pending - live
    summary.pending -= pending - live

    _add_slots(timeline, inner)
    return summary, timeline


def _add_slots(timeline: list[Bucket], inner: object) -> None:
    """Add each slot's calls to the bar (local hour or day) that holds it.

    Every zone in use is a whole number of quarter hours from UTC, so a slot
    never straddles two bars; the bars' starts are instants (DST-safe).
    """
    starts = [b.start for b in timeline]
    per_slot = inner.values_list("slot").annotate(  # type: ignore[attr-defined]
        placed=Sum("n", filter=Q(status__in=PLACED)),
        verified=Sum("n", filter=Q(status=Status.VERIFIED)),
        failed=Sum("n", filter=Q(status=Status.FAILED)),
        refused=Sum("n", filter=Q(status=Status.REFUSED)),
        spend=Sum("spend", filter=~Q(status=Status.UNLOCKED)),
    )
    for slot, placed, verified, failed, refused, spend in per_slot.order_by():
        i = bisect_right(starts, slot_start(slot)) - 1
        if i < 0:
            continue  # before the first bar: cannot happen for slots inside the window
        bar = timeline[i]
        bar.placed += placed or 0
        bar.verified += verified or 0
        bar.failed += failed or 0
        bar.refused += refused or 0
        bar.spend += Decimal(spend or 0).quantize(PRICE_QUANTUM)


def per_provider(since: datetime, until: datetime) -> dict[str, Summary]:
    """The totals of ``[since, until)`` per provider (``CallAttempt.provider``;
    ``""`` for attempts no provider took, such as refusals), from the counts
    for the whole slots and the rows at the ends."""
    first = math.ceil(since.timestamp() / counts.SLOT)
    last = math.floor(until.timestamp() / counts.SLOT)
    if first >= last or not counts.active(connection):
        first = last = math.floor(until.timestamp() / counts.SLOT)  # no whole slot: all rows
        ends = [(since, until)]
    else:
        ends = [(since, slot_start(first)), (slot_start(last), until)]
    rows: list[dict[str, Any]] = []
    for lo, hi in ends:
        rows += _rows_by_provider(lo, hi, until)
    inner = CallCount.objects.filter(slot__gte=first, slot__lt=last).exclude(n=0)
    sums = inner.values("provider", "status", "reason").annotate(**{s: Sum(s) for s in SUMS})
    slot_rows: list[dict[str, Any]] = [dict(row) for row in sums.order_by()]
    rows += [{**row, "bucket": None, "stale": 0} for row in slot_rows]
    live = dict(
        CallAttempt.objects.filter(
            status=Status.PENDING,
            created_at__gte=slot_start(first),
            created_at__lt=slot_start(last),
        )
        .filter(Q(expires_at__gt=until) | Q(expires_at__isnull=True))
        .values_list("provider")
        .annotate(n=Count("pk"))
        .order_by()
    )
    out = {}
    for provider in sorted({row["provider"] for row in rows}):
        summary, _ = summarize([r for r in rows if r["provider"] == provider], [])
        pending = sum(
            r["n"] for r in slot_rows if r["provider"] == provider and r["status"] == Status.PENDING
        )
        lapsed = pending - live.get(provider, 0)
        summary.expired += lapsed
        summary.pending -= lapsed
        out[provider] = summary
    return out


def _rows_by_provider(
    since: datetime, until: datetime, lapsed_by: datetime
) -> list[dict[str, Any]]:
    """:func:`~.stats.breakdown`'s sums per (provider, status, reason), from the rows."""
    rows = (
        CallAttempt.objects.filter(created_at__gte=since, created_at__lt=until)
        .values("provider", "status", "reason")
        .annotate(
            n=Count("pk"),
            stale=Count("pk", filter=Q(status=Status.PENDING, expires_at__lte=lapsed_by)),
            wrong=Coalesce(Sum("checks_used"), 0, output_field=IntegerField()),
            spend=Sum("price"),
            priced=Count("price"),
            delivered=Count("pk", filter=Q(delivery_status=True)),
            undelivered=Count("pk", filter=Q(delivery_status=False)),
        )
        .order_by()
    )
    return [{**row, "bucket": None} for row in rows]
