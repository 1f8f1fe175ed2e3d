"""Monitoring numbers for the admin page and ``flashcall_stats``.

Pure database functions: every number is aggregated by the database.
:func:`breakdown` groups the attempt rows of a window by bucket, status and
reason; :mod:`.tally` uses it for the ends of a window and reads the
15-minute counts (:mod:`.counts`) for the rest, so a 30-day report does not
read 30 days of rows. The phones and IPs that draw the most refusals and
wrong codes come from the hourly and daily offender counts on PostgreSQL
(:mod:`.offenders`), from the rows elsewhere (:func:`offenders`, which is
also the reference the tests hold the counts to); the providers from
:mod:`.providers`.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone

from ..internal.clock import now
from ..models import CallAttempt, Status
from . import offenders as counted
from .providers import provider_rows
from .report import (
    DEFAULT_PERIOD,
    PERIODS,
    Bucket,
    Offender,
    Period,
    Report,
    Summary,
    get_period,
)

__all__ = [
    "DEFAULT_PERIOD",
    "PERIODS",
    "Period",
    "Report",
    "breakdown",
    "get_period",
    "offenders",
    "report",
    "top_offenders",
]

# A call went out: the provider accepted it (FAILED means it may not have).
PLACED = (Status.CALLING, Status.PENDING, Status.VERIFIED, Status.EXPIRED, Status.EXHAUSTED)
# CallAttempt.price has 4 decimal places; SQLite's SUM comes back as a float.
PRICE_QUANTUM = Decimal("0.0001")


def _window(since: datetime, until: datetime) -> Q:
    # A half-open range on created_at: the (created_at, status) index serves it.
    return Q(created_at__gte=since, created_at__lt=until)


def breakdown(
    since: datetime,
    until: datetime,
    bucket: str = "day",
    *,
    lapsed_by: datetime | None = None,
    by: tuple[str, ...] = (),
) -> QuerySet:
    """The main aggregate of the rows: one row per (bucket, status, reason)
    in the window (and per the columns ``by``, such as the provider);
    ``stale`` counts the pending ones lapsed by ``lapsed_by`` (default
    ``until``).

    At most buckets × ~20 rows, whatever the table size. Buckets start at
    hours or days in the current time zone. Hours also carry their UTC hour
    (``utc_hour``): a local hour alone loses the DST fold, and the two 02:00
    hours of an autumn night would merge into one bar.
    """
    qs = CallAttempt.objects.filter(_window(since, until))
    if bucket == "hour":
        qs = qs.annotate(
            bucket=TruncHour("created_at"), utc_hour=TruncHour("created_at", tzinfo=UTC)
        )
        fields: tuple[str, ...] = ("bucket", "utc_hour", "status", "reason")
    else:
        qs = qs.annotate(bucket=TruncDay("created_at"))
        fields = ("bucket", "status", "reason")
    fields += tuple(f for f in by if f not in fields)
    return (
        qs.values(*fields)
        .annotate(
            n=Count("pk"),
            # Pending past its TTL: nobody typed the code; the row is only
            # marked expired by a later confirm, a new call or flashcall_cleanup.
            stale=Count("pk", filter=Q(status=Status.PENDING, expires_at__lte=lapsed_by or until)),
            wrong=Coalesce(Sum("checks_used"), 0, output_field=IntegerField()),
            spend=Sum("price"),
            priced=Count("price"),
            delivered=Count("pk", filter=Q(delivery_status=True)),
            undelivered=Count("pk", filter=Q(delivery_status=False)),
        )
        # No ORDER BY: it would make PostgreSQL sort every row of the window
        # before grouping; summarize() orders the few result rows itself.
        .order_by()
    )


def bucket_starts(since: datetime, until: datetime, bucket: str) -> list[datetime]:
    """Every local hour or day that overlaps ``[since, until)``, oldest first.

    Hours are given as UTC instants: local ones would compare equal across a
    DST "fall back" (the same wall clock; ``fold`` is ignored by ``==``).
    """
    tz = timezone.get_current_timezone()
    starts: list[datetime] = []
    if bucket == "hour":
        cursor = timezone.localtime(since, tz).replace(minute=0, second=0, microsecond=0)
        cursor = cursor.astimezone(UTC)  # then step in UTC: real hours
        while cursor < until:
            starts.append(cursor)
            cursor += timedelta(hours=1)
        return starts
    day = timezone.localtime(since, tz).date()
    last = timezone.localtime(until - timedelta(microseconds=1), tz).date()
    while day <= last:
        starts.append(timezone.make_aware(datetime.combine(day, time.min), tz))
        day += timedelta(days=1)
    return starts


def summarize(rows: list[dict[str, Any]], starts: list[datetime]) -> tuple[Summary, list[Bucket]]:
    """Fold :func:`breakdown` rows into the totals and a zero-filled timeline."""
    summary = Summary()
    buckets = {start: Bucket(start) for start in starts}
    for row in rows:
        status, reason, n = row["status"], row["reason"] or "", row["n"]
        if status == Status.UNLOCKED:  # a staff marker, not a request
            continue
        spend = (row["spend"] or Decimal(0)).quantize(PRICE_QUANTUM)
        summary.requests += n
        summary.wrong_codes += row["wrong"]
        summary.priced += row["priced"]
        summary.spend += spend
        summary.delivered += row["delivered"]
        summary.undelivered += row["undelivered"]
        start = row["bucket"]
        if row.get("utc_hour") is not None:
            start = _hour_start(start, row["utc_hour"])
        slot = buckets.get(start) if start is not None else None
        if slot is None and start is not None:  # outside the expected grid: keep it
            slot = buckets[start] = Bucket(start)
        if slot is not None:
            slot.spend += spend
        if status in PLACED:
            summary.placed += n
            if slot is not None:
                slot.placed += n
            if status == Status.VERIFIED:
                summary.verified += n
                if slot is not None:
                    slot.verified += n
            elif status == Status.EXPIRED:
                summary.expired += n
            elif status == Status.EXHAUSTED:
                summary.exhausted += n
            else:
                stale = row.get("stale", 0)
                summary.expired += stale
                summary.pending += n - stale
        elif status == Status.FAILED:
            summary.failed += n
            summary.failed_by_reason[reason] = summary.failed_by_reason.get(reason, 0) + n
            if slot is not None:
                slot.failed += n
        elif status == Status.REFUSED:
            summary.refused += n
            summary.refused_by_reason[reason] = summary.refused_by_reason.get(reason, 0) + n
            if slot is not None:
                slot.refused += n
    summary.failed_by_reason = _by_count(summary.failed_by_reason)
    summary.refused_by_reason = _by_count(summary.refused_by_reason)
    timeline = sorted(buckets.values(), key=lambda b: b.start)
    return summary, timeline


def _hour_start(local: datetime, utc_hour: datetime) -> datetime:
    """The UTC instant at which the local hour ``local`` began. ``local`` is
    a truncated local time, its DST fold lost; of the (at most two) instants
    it may name, the one whose hour overlaps ``utc_hour`` holds the row."""
    hour = timedelta(hours=1)
    for fold in (0, 1):
        start = local.replace(fold=fold).astimezone(UTC)
        if start < utc_hour + hour and utc_hour < start + hour:
            return start
    return local.astimezone(UTC)


def _by_count(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def offenders(field_name: str, since: datetime, until: datetime, limit: int = 10) -> QuerySet:
    """Rows of ``field_name`` ("phone" or "ip") with their refusals and wrong
    codes in the window, the noisiest first. Only rows that count are
    grouped: refused ones and ones with a wrong code."""
    noisy = Q(status=Status.REFUSED) | Q(checks_used__gt=0)
    qs = CallAttempt.objects.filter(_window(since, until)).filter(noisy)
    if field_name == "ip":
        qs = qs.exclude(ip__isnull=True)
    return (
        qs.values(field_name)
        .annotate(
            refused=Count("pk", filter=Q(status=Status.REFUSED)),
            wrong=Coalesce(Sum("checks_used"), 0, output_field=IntegerField()),
        )
        .annotate(score=F("refused") + F("wrong"))
        .order_by("-score", field_name)[:limit]
    )


def top_offenders(
    field_name: str, since: datetime, until: datetime, limit: int = 10
) -> list[Offender]:
    """The ``limit`` phones or IPs with the most refusals plus wrong codes:
    from the offender counts on PostgreSQL (:mod:`.offenders`, the same
    list), from the rows elsewhere."""
    if counted.active():
        return counted.top(field_name, since, until, limit)
    rows = offenders(field_name, since, until, limit)
    return [Offender(str(r[field_name]), r["refused"], r["wrong"]) for r in rows]


def report(
    period: Period | str = DEFAULT_PERIOD, *, at: datetime | None = None, top: int = 10
) -> Report:
    """Everything the monitoring page shows for ``period``: the totals and
    the timeline from the 15-minute counts (:mod:`.tally`), the offenders
    from the offender counts (:mod:`.offenders`), the providers
    (:mod:`.providers`)."""
    if isinstance(period, str):
        period = get_period(period)
    until = at or now()
    since = until - period.length
    from . import window  # these read this module's shapes
    from .tally import totals

    # The totals and the providers sum the same counts and rows: read once.
    starts = bucket_starts(since, until, period.bucket)
    read = window.read(since, until, period.bucket, starts)
    summary, timeline = totals(since, until, period.bucket, starts, read)
    return Report(
        period=period,
        since=since,
        until=until,
        summary=summary,
        timeline=timeline,
        top_phones=top_offenders("phone", since, until, top),
        top_ips=top_offenders("ip", since, until, top),
        providers=provider_rows(since, until, read=read),
    )
