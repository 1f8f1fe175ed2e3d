"""The report's totals and timeline from the 15-minute counts.

A window ``[since, until)`` is cut in three: the whole slots inside it,
read from :class:`~django_flashcall.models.CallCount` (one query grouped by
bar and outcome over at most 2,880 slots for 30 days, whatever the row
count, shared with the providers: see :mod:`.window`), and the two
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

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, IntegerField, Q, Sum
from django.db.models.functions import Coalesce

from ..models import CallAttempt, Status
from . import window
from .report import Bucket, Summary
from .stats import PLACED, PRICE_QUANTUM, breakdown, summarize
from .window import Window


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
    w = read or window.read(since, until, bucket, starts)
    if (w.bucket, w.starts) != (bucket, starts):
        raise ValueError("the window was read for other bars")
    summary, timeline = summarize(w.rows + w.slot_rows(), starts)
    if not w.counted:
        return summary, timeline
    lapsed = w.lapsed()
    summary.expired += lapsed
    summary.pending -= lapsed
    _add_slots(timeline, starts, w.groups)
    return summary, timeline


def _add_slots(
    timeline: list[Bucket], starts: list[datetime], groups: list[dict[str, Any]]
) -> None:
    """Add the slots' calls to the bars (local hours or days) that hold them.

    Every zone in use is a whole number of quarter hours from UTC, so a slot
    never straddles two bars; the bars' starts are instants (DST-safe).
    """
    bars = {b.start: b for b in timeline}
    for group in groups:
        if group["bar"] < 1:
            continue  # before the first bar: cannot happen for slots inside the window
        bar, status, n = bars[starts[group["bar"] - 1]], group["status"], group["n"]
        if status in PLACED:
            bar.placed += n
            if status == Status.VERIFIED:
                bar.verified += n
        elif status == Status.FAILED:
            bar.failed += n
        elif status == Status.REFUSED:
            bar.refused += n
        if status != Status.UNLOCKED:
            bar.spend += Decimal(group["spend"] or 0).quantize(PRICE_QUANTUM)


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
