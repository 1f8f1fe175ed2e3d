"""The report's totals and timeline from the 15-minute counts.

A window ``[since, until)`` is cut in three: the whole slots inside it,
read from :class:`~django_flashcall.models.CallCount` (two grouped queries
over at most 2,880 slots for 30 days, whatever the row count; the one by
outcome is shared with the providers, see :mod:`.window`), and the two
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

from bisect import bisect_right
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, IntegerField, Q, Sum
from django.db.models.functions import Coalesce

from ..models import CallAttempt, Status
from . import window
from .report import Bucket, Summary
from .stats import PLACED, PRICE_QUANTUM, breakdown, summarize
from .window import Window, slot_start


def row_totals(
    since: datetime, until: datetime, bucket: str, starts: list[datetime]
) -> tuple[Summary, list[Bucket]]:
    """The totals and timeline of ``[since, until)`` from the attempt rows alone."""
    return summarize(list(breakdown(since, until, bucket, lapsed_by=until)), starts)


def totals(
    since: datetime,
    until: datetime,
    bucket: str,
    starts: list[datetime],
    read: Window | None = None,
) -> tuple[Summary, list[Bucket]]:
    """The totals and timeline of ``[since, until)``: counts for the whole
    slots, rows for the partial ones at the ends. ``read``: the window's
    counts already read (by :func:`~.stats.report`, for the providers too)."""
    w = read or window.read(since, until, bucket)
    if w.bucket != bucket:
        raise ValueError(f"the window was read by {w.bucket}, not {bucket}")
    summary, timeline = summarize(w.rows + w.slot_rows(), starts)
    if not w.counted:
        return summary, timeline
    lapsed = w.lapsed()
    summary.expired += lapsed
    summary.pending -= lapsed
    _add_slots(timeline, w.slots())
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


def per_provider(
    since: datetime, until: datetime, read: Window | None = None
) -> dict[str, Summary]:
    """The totals of ``[since, until)`` per provider (``CallAttempt.provider``;
    ``""`` for attempts no provider took, such as refusals), from the counts
    for the whole slots and the rows at the ends."""
    w = read or window.read(since, until)
    rows = w.rows + w.slot_rows()
    out = {}
    for provider in sorted({row["provider"] for row in rows}):
        summary, _ = summarize([r for r in rows if r["provider"] == provider], [])
        lapsed = w.lapsed(provider)
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
