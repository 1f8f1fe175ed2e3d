"""Monitoring numbers for the admin page and ``flashcall_stats``.

Pure database functions: every number is aggregated by the database, so the
cost is a fixed number of queries whatever the row count. :func:`report`
runs three: one ``GROUP BY bucket, status, reason`` that yields both the
totals and the chart series, and one ``GROUP BY`` each for the phones and
the IPs that draw the most refusals and wrong codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, IntegerField, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDay, TruncHour
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .clock import now
from .models import CallAttempt, Status

# A call went out: the provider accepted it (FAILED means it may not have).
PLACED = (Status.CALLING, Status.PENDING, Status.VERIFIED, Status.EXPIRED, Status.EXHAUSTED)
# CallAttempt.price has 4 decimal places; SQLite's SUM comes back as a float.
PRICE_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class Period:
    key: str  # "1d", "7d", "30d"
    label: str
    length: timedelta
    bucket: str  # "hour" or "day": the chart's bar width


PERIODS: dict[str, Period] = {
    "1d": Period("1d", _("last 24 hours"), timedelta(days=1), "hour"),
    "7d": Period("7d", _("last 7 days"), timedelta(days=7), "day"),
    "30d": Period("30d", _("last 30 days"), timedelta(days=30), "day"),
}
_ALIASES = {"24h": "1d", "1w": "7d", "1m": "30d"}
DEFAULT_PERIOD = "1d"


def get_period(key: str | None) -> Period:
    """The period named ``key`` (``1d``, ``7d``, ``30d``; ``24h`` too); ``KeyError`` if unknown."""
    key = (key or DEFAULT_PERIOD).strip().lower()
    return PERIODS[_ALIASES.get(key, key)]


@dataclass
class Bucket:
    """One bar of the chart: an hour or a day, starting at ``start``."""

    start: datetime
    placed: int = 0
    verified: int = 0
    failed: int = 0
    refused: int = 0
    spend: Decimal = Decimal("0.0000")


@dataclass
class Summary:
    """The period's totals. ``placed`` counts calls the provider accepted."""

    requests: int = 0  # every attempt row: placed, failed and refused
    placed: int = 0
    verified: int = 0
    expired: int = 0  # no right code before the TTL (or expired by staff)
    exhausted: int = 0  # FLASHCALL_MAX_CHECKS wrong codes
    pending: int = 0
    failed: int = 0  # provider errors
    refused: int = 0  # refused by a limit, no call placed
    wrong_codes: int = 0
    delivered: int = 0  # from get_status (flashcall_sync_status)
    undelivered: int = 0
    priced: int = 0  # calls whose price is known
    spend: Decimal = Decimal("0.0000")  # sum of the known prices
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    refused_by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def conversion(self) -> float | None:
        """verified / placed, or None when nothing was placed."""
        return self.verified / self.placed if self.placed else None


@dataclass
class Offender:
    """A phone or an IP by refusals and wrong codes: is someone abusing us?"""

    key: str
    refused: int
    wrong_codes: int

    @property
    def score(self) -> int:
        return self.refused + self.wrong_codes


@dataclass
class Report:
    period: Period
    since: datetime
    until: datetime
    summary: Summary
    timeline: list[Bucket]
    top_phones: list[Offender]
    top_ips: list[Offender]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: decimals as strings, datetimes in ISO 8601."""
        summary = asdict(self.summary)
        summary["conversion"] = self.summary.conversion
        return _jsonable(
            {
                "period": self.period.key,
                "since": self.since,
                "until": self.until,
                "bucket": self.period.bucket,
                "summary": summary,
                "timeline": [asdict(b) for b in self.timeline],
                "top_phones": [{**asdict(o), "score": o.score} for o in self.top_phones],
                "top_ips": [{**asdict(o), "score": o.score} for o in self.top_ips],
            }
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _window(since: datetime, until: datetime) -> Q:
    # A half-open range on created_at: the (created_at, status) index serves it.
    return Q(created_at__gte=since, created_at__lt=until)


def breakdown(since: datetime, until: datetime, bucket: str = "day") -> QuerySet:
    """The main aggregate: one row per (bucket, status, reason) in the window.

    At most buckets × ~20 rows, whatever the table size. Buckets start at
    hours or days in the current time zone.
    """
    trunc = TruncHour if bucket == "hour" else TruncDay
    return (
        CallAttempt.objects.filter(_window(since, until))
        .annotate(bucket=trunc("created_at"))
        .values("bucket", "status", "reason")
        .annotate(
            n=Count("pk"),
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
    """Every hour or local day that overlaps ``[since, until)``, oldest first."""
    tz = timezone.get_current_timezone()
    starts: list[datetime] = []
    if bucket == "hour":
        # Step in UTC: aware arithmetic in a DST zone would be wall-clock time.
        cursor = timezone.localtime(since, tz).replace(minute=0, second=0, microsecond=0)
        cursor = cursor.astimezone(UTC)
        while cursor < until:
            starts.append(cursor.astimezone(tz))
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
                summary.pending += n
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
    """The ``limit`` phones or IPs with the most refusals plus wrong codes."""
    rows = offenders(field_name, since, until, limit)
    return [Offender(str(r[field_name]), r["refused"], r["wrong"]) for r in rows]


def report(
    period: Period | str = DEFAULT_PERIOD, *, at: datetime | None = None, top: int = 10
) -> Report:
    """Everything the monitoring page shows for ``period``, in three queries."""
    if isinstance(period, str):
        period = get_period(period)
    until = at or now()
    since = until - period.length
    rows = list(breakdown(since, until, period.bucket))
    summary, timeline = summarize(rows, bucket_starts(since, until, period.bucket))
    return Report(
        period=period,
        since=since,
        until=until,
        summary=summary,
        timeline=timeline,
        top_phones=top_offenders("phone", since, until, top),
        top_ips=top_offenders("ip", since, until, top),
    )
