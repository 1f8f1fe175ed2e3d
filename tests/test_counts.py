"""monitoring/counts.py and tally.py: the 15-minute counts equal the rows.

Rows of every outcome are written across the DST changes of 2026 (and in
zones a half or a quarter hour from UTC), changed and deleted the ways the
app changes them; then the counts are compared with a GROUP BY over the
rows, and the report built from them with the report built from the rows
alone, for every period, at aligned and unaligned moments.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from django_flashcall.models import CallAttempt, CallCount, Channel, Reason, Status
from django_flashcall.monitoring import counts, providers, stats, tally, window
from django_flashcall.monitoring.counts import SLOT
from django_flashcall.services import delete_before, expire_lapsed, fail_interrupted_calls

pytestmark = pytest.mark.django_db

# Berlin falls back at 2026-10-25 01:00 UTC (03:00 → 02:00 local) and springs
# forward at 2026-03-29 01:00 UTC; St John's is 3:30 behind UTC (2:30 in
# summer), Kathmandu 5:45 ahead.
ZONES = ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu"]
FALL_BACK = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
OUTCOMES = [
    (Status.VERIFIED, ""),
    (Status.PENDING, ""),
    (Status.EXPIRED, ""),
    (Status.EXHAUSTED, ""),
    (Status.CALLING, ""),
    (Status.FAILED, Reason.TIMEOUT),
    (Status.FAILED, Reason.CONNECTION),
    (Status.REFUSED, Reason.COOLDOWN),
    (Status.REFUSED, Reason.BUDGET),
    (Status.UNLOCKED, ""),
]


def seed(end: datetime, n: int = 700) -> None:
    """``n`` attempts over the 32 days before ``end``, at uneven times."""
    rows = []
    for i in range(n):
        status, reason = OUTCOMES[i % len(OUTCOMES)]
        created = end - timedelta(days=32) + timedelta(seconds=i * 3947 + (i * 7919) % 900)
        rows.append(
            CallAttempt(
                phone=f"79{i % 37:09d}",
                status=status,
                reason=reason,
                channel=Channel.NONE if status == Status.REFUSED else Channel.CALL,
                checks_used=i % 4 if status in (Status.PENDING, Status.VERIFIED) else 0,
                price=Decimal("0.2") + Decimal(i % 7) / 100 if i % 3 else None,
                delivery_status=(None, True, False)[i % 3] if status != Status.REFUSED else None,
                created_at=created,
                # Some pending codes lapse before the report's moment, some after.
                expires_at=created + timedelta(minutes=5 if (i // 10) % 2 else 60 * 24 * 40),
                ip=f"192.0.2.{i % 11}",
                provider="" if status == Status.REFUSED else ("telefonip", "backup")[i % 2],
                failed_before="sms.ru" if i % 3 == 0 and status != Status.REFUSED else "",
            )
        )
    CallAttempt.objects.bulk_create(rows, batch_size=100)


def change_some(at: datetime) -> None:
    """What the app does to rows after writing them."""
    pending = list(CallAttempt.objects.filter(status=Status.PENDING).order_by("pk")[:20])
    for attempt in pending[:10]:  # confirms: verified, or one more wrong code
        attempt.status, attempt.verified_at = Status.VERIFIED, at
        attempt.save(update_fields=["status", "verified_at"])
    CallAttempt.objects.filter(pk__in=[a.pk for a in pending[10:]]).update(checks_used=2)
    # flashcall_sync_status: price and delivery learned later.
    unpriced = CallAttempt.objects.filter(price__isnull=True, status=Status.VERIFIED)
    unpriced.filter(pk__in=list(unpriced.values_list("pk", flat=True)[:15])).update(
        price=Decimal("0.31"), delivery_status=True
    )
    expire_lapsed(at - timedelta(days=3))
    fail_interrupted_calls(at - timedelta(days=10))
    delete_before(at - timedelta(days=31))  # retention


def grouped_rows() -> dict[tuple, list]:
    totals: dict[tuple, list] = defaultdict(lambda: [0, 0, Decimal(0), 0, 0, 0])
    for a in CallAttempt.objects.all():
        key = (int(a.created_at.timestamp()) // SLOT, a.status, a.reason, a.provider)
        t = totals[(*key, a.failed_before)]
        t[0] += 1
        t[1] += a.checks_used
        t[2] += a.price or 0
        t[3] += a.price is not None
        t[4] += a.delivery_status is True
        t[5] += a.delivery_status is False
    return {k: v for k, v in totals.items() if any(v)}


def grouped_counts() -> dict[tuple, list]:
    return {
        (c.slot, c.status, c.reason, c.provider, c.failed_before): [
            c.n,
            c.wrong,
            Decimal(c.spend).quantize(Decimal("0.0001")),
            c.priced,
            c.delivered,
            c.undelivered,
        ]
        for c in CallCount.objects.all()
        if any((c.n, c.wrong, c.spend, c.priced, c.delivered, c.undelivered))
    }


def test_counts_follow_every_write():
    end = FALL_BACK + timedelta(days=2)
    seed(end)
    assert grouped_counts() == grouped_rows()
    change_some(end)
    assert grouped_counts() == grouped_rows()
    CallAttempt.objects.filter(status=Status.REFUSED).delete()
    assert grouped_counts() == grouped_rows()


@pytest.mark.parametrize("zone", ZONES)
def test_provider_rows_from_counts_equal_those_from_rows(zone, monkeypatch):
    end = FALL_BACK + timedelta(days=2)
    seed(end)
    change_some(end)
    windows = [(end - timedelta(days=30), end), (end - timedelta(days=7, minutes=3), end)]
    with timezone.override(ZoneInfo(zone)):
        counted = [providers.provider_rows(*w, order=["telefonip"]) for w in windows]
        monkeypatch.setattr(counts, "active", lambda connection: False)
        from_rows = [providers.provider_rows(*w, order=["telefonip"]) for w in windows]
    assert counted == from_rows
    assert {r.name for r in counted[0]} == {"telefonip", "backup", "sms.ru"}
    assert all(r.failed_over for r in counted[0] if r.name == "sms.ru")


@pytest.mark.parametrize("zone", ZONES)
def test_reports_from_counts_equal_reports_from_rows(zone):
    end = FALL_BACK + timedelta(days=2)
    seed(end)
    change_some(end)
    moments = [
        end,  # on a slot boundary
        end - timedelta(minutes=7, seconds=3, microseconds=11),
        FALL_BACK + timedelta(hours=5, minutes=52),  # a 1d window across the fold
        FALL_BACK - timedelta(days=5, minutes=44),
    ]
    with timezone.override(ZoneInfo(zone)):
        for at in moments:
            for period in stats.PERIODS.values():
                since = at - period.length
                starts = stats.bucket_starts(since, at, period.bucket)
                counted = tally.totals(since, at, period.bucket, starts)
                from_rows = tally.row_totals(since, at, period.bucket, starts)
                assert counted == from_rows, (zone, at, period.key)
                assert counted[0].requests > 0
                providers = tally.per_provider(since, at)
                assert set(providers) == {"", "telefonip", "backup"}
                assert providers == rows_per_provider(since, at), (zone, at, period.key)


def rows_per_provider(since, until):
    rows = tally._rows_by_provider(since, until, until)
    return {
        p: stats.summarize([r for r in rows if r["provider"] == p], [])[0]
        for p in sorted({r["provider"] for r in rows})
    }


def test_fall_back_keeps_both_local_02_hours():
    # Two calls at 02:30 Berlin time, one before and one after the clocks go back.
    for utc in (FALL_BACK - timedelta(minutes=30), FALL_BACK + timedelta(minutes=30)):
        CallAttempt.objects.create(phone="79244501003", status=Status.VERIFIED, created_at=utc)
    at = FALL_BACK + timedelta(hours=6)
    with timezone.override(ZoneInfo("Europe/Berlin")):
        report = stats.report("1d", at=at)
    bars = [(b.start, b.verified) for b in report.timeline if b.verified]
    assert bars == [
        (FALL_BACK - timedelta(hours=1), 1),  # 02:00 CEST
        (FALL_BACK, 1),  # 02:00 CET
    ]


def test_counts_left_by_a_flush_are_dropped():
    # SQLite's flush may delete the attempts after the counts: their
    # triggers then leave counts of rows that are gone (here: made by hand).
    CallCount.objects.create(slot=1, status=Status.VERIFIED, n=-1)
    from django_flashcall.apps import _forget_counts_of_flushed_rows

    _forget_counts_of_flushed_rows(using="default")
    assert not CallCount.objects.exists()
    CallAttempt.objects.create(phone="79244501003", status=Status.VERIFIED)
    _forget_counts_of_flushed_rows(using="default")  # rows there: counts kept
    assert CallCount.objects.get().n == 1


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Asia/Kathmandu"])
def test_report_reads_the_window_once_and_equals_the_rows(zone, monkeypatch):
    # report() hands one window.read() to the totals and the providers:
    # the same numbers as each part reading alone, and as the rows alone.
    end = FALL_BACK + timedelta(days=2)
    seed(end)
    change_some(end)
    at = end - timedelta(minutes=7, seconds=3)  # both ends partial
    for period in stats.PERIODS.values():  # rows in both ends, one of them live
        for created, status in ((at - period.length, Status.VERIFIED), (at, Status.PENDING)):
            CallAttempt.objects.create(
                phone="79244501003",
                status=status,
                created_at=created - timedelta(seconds=60 if status == Status.PENDING else -60),
                expires_at=at + timedelta(minutes=4),
                provider="backup",
                failed_before="sms.ru",
                price=Decimal("0.25"),
            )
    with timezone.override(ZoneInfo(zone)):
        for period in stats.PERIODS.values():
            since = at - period.length
            starts = stats.bucket_starts(since, at, period.bucket)
            shared = window.read(since, at, period.bucket, starts)
            assert shared.counted and shared.rows and shared.groups
            alone = tally.totals(since, at, period.bucket, starts)
            assert tally.totals(since, at, period.bucket, starts, shared) == alone
            assert tally.per_provider(since, at, shared) == tally.per_provider(since, at)
            with pytest.raises(ValueError):
                tally.totals(
                    since, at, "day" if period.bucket == "hour" else "hour", starts, shared
                )
        counted = [stats.report(key, at=at) for key in stats.PERIODS]
        monkeypatch.setattr(counts, "active", lambda connection: False)
        from_rows = [stats.report(key, at=at) for key in stats.PERIODS]
    for c, r in zip(counted, from_rows, strict=True):
        assert (c.summary, c.timeline, c.providers) == (r.summary, r.timeline, r.providers)
        assert c.summary.pending and c.summary.expired and c.providers
