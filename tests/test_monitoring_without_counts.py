"""The monitoring numbers on a database that keeps no 15-minute counts (the
counts' triggers exist for SQLite and PostgreSQL only), and rows whose hour
the database and Python disagree on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from django_flashcall.models import CallAttempt, Channel, Reason, Status
from django_flashcall.monitoring import counts, stats

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 10, 12, 7, 30, tzinfo=UTC)  # not on a 15-minute boundary


def attempt(status, age, reason="", **fields):
    created = AT - age
    return CallAttempt.objects.create(
        phone="79244501003",
        status=status,
        reason=reason,
        channel=Channel.NONE if status == Status.REFUSED else Channel.CALL,
        created_at=created,
        expires_at=created + timedelta(minutes=5),
        **fields,
    )


def test_a_database_without_counts_gets_the_same_report_from_the_rows(monkeypatch):
    attempt(Status.VERIFIED, timedelta(hours=1), price=Decimal("0.25"), provider="telefonip")
    attempt(Status.PENDING, timedelta(hours=3), provider="telefonip")  # lapsed: expired
    attempt(Status.FAILED, timedelta(minutes=20), Reason.TIMEOUT, provider="telefonip")
    attempt(Status.REFUSED, timedelta(days=2), Reason.COOLDOWN)
    counted = {key: stats.report(key, at=AT) for key in stats.PERIODS}
    monkeypatch.setattr(counts, "active", lambda connection: False)  # e.g. MySQL
    for key, period in stats.PERIODS.items():
        from_rows = stats.report(key, at=AT)
        assert from_rows.summary == counted[key].summary, key
        assert from_rows.timeline == counted[key].timeline, key
        assert from_rows.providers == counted[key].providers, key
    week = stats.report("7d", at=AT).summary
    assert (week.requests, week.placed, week.verified, week.expired) == (4, 2, 1, 1)
    assert (week.failed_by_reason, week.refused_by_reason) == ({"timeout": 1}, {"cooldown": 1})
    assert week.spend == Decimal("0.2500")
    assert stats.report("1d", at=AT).summary.refused == 0  # two days old: not in 24 h


class OtherDatabase:
    """A schema editor's surface, on a database the counts do not support."""

    class connection:
        vendor = "mysql"

    def __init__(self):
        self.executed = []

    def execute(self, sql, params=None):
        self.executed.append(sql)


def test_the_counts_are_not_installed_on_other_databases():
    editor = OtherDatabase()
    counts.install(editor)
    counts.uninstall(editor)
    assert editor.executed == []  # the migration runs there, and does nothing
    assert counts.active(editor.connection) is False


def test_a_row_whose_hour_python_does_not_know_keeps_its_own_bar():
    # The database's time-zone data and Python's disagree: its local 10:00
    # bucket is not one of the hours Python laid out, and its UTC hour is not
    # that local hour's either. The row is counted, in a bar of its own.
    local = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)
    row = {
        "bucket": local,
        "utc_hour": local + timedelta(hours=5),
        "status": Status.VERIFIED,
        "reason": "",
        "n": 2,
        "stale": 0,
        "wrong": 1,
        "spend": Decimal("0.4"),
        "priced": 2,
        "delivered": 2,
        "undelivered": 0,
    }
    starts = [local - timedelta(hours=2), local - timedelta(hours=1)]
    summary, timeline = stats.summarize([row], starts)
    assert (summary.requests, summary.verified, summary.wrong_codes) == (2, 2, 1)
    assert [b.start for b in timeline] == [*starts, local]
    assert (timeline[-1].placed, timeline[-1].verified) == (2, 2)
    assert timeline[-1].spend == Decimal("0.4000")
