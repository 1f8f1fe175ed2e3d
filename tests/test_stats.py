"""stats.py (the monitoring numbers) and charts.py (the SVG)."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_flashcall.models import CallAttempt, Channel, Reason, Status
from django_flashcall.monitoring import charts, offender_counts, stats

AT = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def make(ago=timedelta(hours=1), **fields):
    values = {
        "phone": "79244501003",
        "status": Status.VERIFIED,
        "created_at": AT - ago,
        "ip": "192.0.2.1",
    }
    values.update(fields)
    if values["status"] == Status.REFUSED:
        values.setdefault("channel", Channel.NONE)
    return CallAttempt.objects.create(**values)


def test_summary_counts_every_outcome():
    make(status=Status.VERIFIED, price=Decimal("0.2"), delivery_status=True)
    make(status=Status.VERIFIED, price=Decimal("0.25"), delivery_status=True, checks_used=1)
    make(status=Status.EXPIRED, delivery_status=False)
    make(status=Status.EXHAUSTED, checks_used=3)
    make(status=Status.PENDING, checks_used=1)
    make(status=Status.FAILED, reason=Reason.TIMEOUT)
    make(status=Status.FAILED, reason=Reason.TIMEOUT)
    make(status=Status.FAILED, reason=Reason.SERVER_ERROR)
    make(status=Status.REFUSED, reason=Reason.COOLDOWN)
    make(status=Status.REFUSED, reason=Reason.PHONE_LOCKED)
    make(status=Status.REFUSED, reason=Reason.PHONE_LOCKED)

    s = stats.report("1d", at=AT).summary

    assert s.requests == 11
    assert s.placed == 5
    assert (s.verified, s.expired, s.exhausted, s.pending) == (2, 1, 1, 1)
    assert s.conversion == pytest.approx(2 / 5)
    assert s.failed == 3
    assert s.failed_by_reason == {"timeout": 2, "server_error": 1}
    assert list(s.failed_by_reason) == ["timeout", "server_error"]  # most first
    assert s.refused == 3
    assert s.refused_by_reason == {"phone_locked": 2, "cooldown": 1}
    assert s.wrong_codes == 5
    assert (s.delivered, s.undelivered) == (2, 1)
    assert s.spend == Decimal("0.45")
    assert s.priced == 2


def test_window_is_the_period_only():
    make(ago=timedelta(hours=23, minutes=59))
    make(ago=timedelta(hours=24, seconds=1))  # just outside 24 h
    make(ago=timedelta(days=6))
    make(ago=timedelta(days=29))
    make(ago=timedelta(days=31))
    make(ago=-timedelta(minutes=1))  # in the future of `at`: not counted

    assert stats.report("1d", at=AT).summary.requests == 1
    assert stats.report("24h", at=AT).summary.requests == 1
    assert stats.report("7d", at=AT).summary.requests == 3
    assert stats.report("30d", at=AT).summary.requests == 4


def test_no_rows_no_conversion():
    report = stats.report("7d", at=AT)
    assert report.summary.placed == 0
    assert report.summary.conversion is None
    assert report.top_phones == [] and report.top_ips == []


def test_timeline_is_zero_filled_and_bucketed():
    make(ago=timedelta(minutes=10), status=Status.VERIFIED, price=Decimal("0.2"))  # 12:20
    make(ago=timedelta(minutes=20), status=Status.REFUSED, reason=Reason.COOLDOWN)  # 12:10
    make(ago=timedelta(hours=3), status=Status.FAILED, reason=Reason.TIMEOUT)  # 09:30

    hourly = stats.report("1d", at=AT).timeline
    # 12:00 yesterday (partial) .. 12:00 today (partial): 25 hours.
    assert len(hourly) == 25
    assert hourly[0].start == datetime(2026, 3, 9, 12, tzinfo=UTC)
    assert hourly[-1].start == datetime(2026, 3, 10, 12, tzinfo=UTC)
    last = hourly[-1]
    assert (last.placed, last.verified, last.refused, last.failed) == (1, 1, 1, 0)
    assert last.spend == Decimal("0.2")
    nine = next(b for b in hourly if b.start.hour == 9 and b.start.day == 10)
    assert nine.failed == 1
    assert sum(b.placed + b.failed + b.refused for b in hourly) == 3

    daily = stats.report("7d", at=AT).timeline
    assert [b.start.day for b in daily] == [3, 4, 5, 6, 7, 8, 9, 10]
    assert daily[-1].placed == 1 and daily[-1].failed == 1 and daily[-1].refused == 1
    assert len(stats.report("30d", at=AT).timeline) == 31


def test_days_follow_the_current_time_zone(settings):
    settings.TIME_ZONE = "Europe/Moscow"  # UTC+3: 22:30 UTC is tomorrow there
    make(ago=-timedelta(hours=-14))  # 22:30 UTC on the 9th = 01:30 on the 10th, Moscow
    daily = stats.report("7d", at=AT).timeline
    assert daily[-1].start.isoformat() == "2026-03-10T00:00:00+03:00"
    assert daily[-1].placed == 1


def test_a_pending_attempt_past_its_ttl_counts_as_expired():
    # Nobody confirmed it; no later confirm or call marked it expired.
    make(ago=timedelta(hours=20), status=Status.PENDING, expires_at=AT - timedelta(hours=19))
    make(ago=timedelta(minutes=2), status=Status.PENDING, expires_at=AT + timedelta(minutes=3))
    s = stats.report("1d", at=AT).summary
    assert (s.placed, s.pending, s.expired) == (2, 1, 1)


def test_the_two_hours_of_a_dst_fall_back_stay_two_bars(settings):
    settings.TIME_ZONE = "Europe/Berlin"  # 2024-10-27: 03:00 CEST becomes 02:00 CET
    at = datetime(2024, 10, 27, 12, tzinfo=UTC)
    make(created_at=datetime(2024, 10, 27, 0, 30, tzinfo=UTC))  # 02:30 CEST
    make(created_at=datetime(2024, 10, 27, 1, 30, tzinfo=UTC))  # 02:30 CET
    timeline = stats.report("1d", at=at).timeline
    assert len(timeline) == 24  # 24 real hours, though the wall clock shows 25
    busy = [b for b in timeline if b.placed]
    assert [(b.start, b.placed) for b in busy] == [
        (datetime(2024, 10, 27, 0, tzinfo=UTC), 1),
        (datetime(2024, 10, 27, 1, tzinfo=UTC), 1),
    ]
    # Both are labelled 02:00 in Berlin, each at its own instant.
    assert [charts.bucket_label(b, "hour") for b in busy] == ["02:00", "02:00"]


def test_hours_follow_a_half_hour_time_zone(settings):
    settings.TIME_ZONE = "Asia/Kolkata"  # UTC+5:30
    make(created_at=datetime(2026, 3, 10, 6, 40, tzinfo=UTC))  # 12:10 in Kolkata
    busy = [b for b in stats.report("1d", at=AT).timeline if b.placed]
    assert [b.start for b in busy] == [datetime(2026, 3, 10, 6, 30, tzinfo=UTC)]
    assert charts.bucket_label(busy[0], "hour") == "12:00"


def test_top_offenders_by_refusals_and_wrong_codes():
    make(phone="79000000001", ip="198.51.100.1", status=Status.EXHAUSTED, checks_used=3)
    make(phone="79000000001", ip="198.51.100.1", status=Status.REFUSED, reason=Reason.COOLDOWN)
    make(phone="79000000002", ip="198.51.100.2", status=Status.REFUSED, reason=Reason.COOLDOWN)
    make(phone="79000000003", ip=None, status=Status.PENDING, checks_used=2)
    make(phone="79000000004", ip="198.51.100.4", status=Status.VERIFIED)  # clean: not listed

    report = stats.report("1d", at=AT)

    assert [(o.key, o.refused, o.wrong_codes) for o in report.top_phones] == [
        ("79000000001", 1, 3),
        ("79000000003", 0, 2),
        ("79000000002", 1, 0),
    ]
    assert [(o.key, o.score) for o in report.top_ips] == [
        ("198.51.100.1", 4),
        ("198.51.100.2", 1),
    ]
    assert len(stats.report("1d", at=AT, top=1).top_phones) == 1


def test_report_is_a_fixed_number_of_queries():
    for status in Status.values:
        make(status=status, checks_used=1)
    # Mid-slot: both partial quarter hours at the ends are read from the rows.
    at = AT + timedelta(minutes=7)
    with CaptureQueriesContext(connection) as queries:
        stats.report("30d", at=at)
    # 2 partial slots, the counts by bar, outcome and provider, live pending
    # (all read once for the totals, the timeline and the providers); the
    # offenders: 1 query per list from the rows, 2 from the offender counts
    # (PostgreSQL) when each bucket holds fewer keys than the list, 4 at most.
    expected = 8 if offender_counts.active(connection) else 6
    assert len(queries) == expected
    for _ in range(20):
        make(status=Status.PENDING)
    with CaptureQueriesContext(connection) as more:
        stats.report("30d", at=at)
    assert len(more) == expected


def test_as_dict_is_json():
    make(status=Status.VERIFIED, price=Decimal("0.2"))
    make(status=Status.REFUSED, reason=Reason.COOLDOWN)
    data = json.loads(json.dumps(stats.report("1d", at=AT).as_dict()))
    assert data["period"] == "1d"
    assert data["bucket"] == "hour"
    assert data["summary"]["spend"] == "0.2000"
    assert data["summary"]["conversion"] == 1.0
    assert data["summary"]["refused_by_reason"] == {"cooldown": 1}
    assert data["since"] == "2026-03-09T12:30:00+00:00"
    assert len(data["timeline"]) == 25
    assert data["top_phones"][0]["score"] == 1


def test_get_period():
    assert stats.get_period(None).key == "1d"
    assert stats.get_period("24h").key == "1d"
    assert stats.get_period(" 7D ").key == "7d"
    with pytest.raises(KeyError):
        stats.get_period("1y")


# -- charts ---------------------------------------------------------------------


def test_stacked_bars_escape_text():
    series = [charts.Series("a", "<b>a</b>", "#000"), charts.Series("b", "b&b", "#fff")]
    svg = charts.stacked_bars(
        ["<script>x</script>", "2"], [{"a": 3, "b": 1}, {"a": 0}], series, title='t"itle'
    )
    assert svg.startswith("<svg")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "<b>" not in svg and "b&amp;b" in svg
    assert 't"itle' not in svg
    assert svg.count('fill="#000"') == 2  # one segment, one legend swatch


def test_stacked_bars_scale_and_empty():
    empty = charts.stacked_bars([], [], charts.TIMELINE_SERIES, title="none")
    assert "<svg" in empty
    series = [charts.Series("n", "n", "#123456")]
    svg = charts.stacked_bars(["x", "y"], [{"n": 7}, {"n": 3}], series, title="t")
    assert ">10</text>" in svg  # the axis tops at a round 10 above the peak of 7
    assert charts._nice_max(0) == 1 and charts._nice_max(11) == 20 and charts._nice_max(50) == 50


def test_timeline_chart_draws_every_bucket():
    make(status=Status.VERIFIED)
    report = stats.report("7d", at=AT)
    svg = charts.timeline_chart(report.timeline, "day", title="Attempts per day")
    assert svg.count("<g><title>") == len(report.timeline)
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")
