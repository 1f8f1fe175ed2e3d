"""monitoring/offender_counts.py and offenders.py: the top phones and IPs
from the hourly and daily counts equal those grouped from the rows.

Seeded random attempts over 40 days (a few loud phones and IPs, a middle
class that ties often, a long tail, IPv4 addresses whose text order is not
their inet order, IPv6 ones, none), changed the ways the app changes them
(wrong codes on confirm, refusals lifted, status changes, cleanup deletes);
then the counts are compared with a GROUP BY of the rows, and
``offenders.top()`` with the rows' ``stats.offenders()`` for hundreds of
random windows (any instant, up to 30 days) and list lengths.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.utils import timezone

from django_flashcall.models import CallAttempt, Channel, OffenderCount, Reason, Status
from django_flashcall.monitoring import offender_counts, offenders, stats
from django_flashcall.monitoring.report import Offender
from django_flashcall.services import delete_before, expire_lapsed

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

END = datetime(2026, 10, 27, 9, 17, 41, 123456, tzinfo=UTC)
SPAN = timedelta(days=40)
LOUD_PHONES = [f"7900000{i:04d}" for i in range(4)]
MIDDLE_PHONES = [f"7911111{i:04d}" for i in range(30)]
LOUD_IPS = ["10.0.0.9", "10.0.0.10", "10.0.0.100", "2001:db8::1"]  # inet order ≠ text order
MIDDLE_IPS = [f"192.0.2.{i}" for i in range(1, 40)] + ["2001:db8::a", "::ffff:198.51.100.7"]


def seed(rng: random.Random, n: int = 2500) -> None:
    rows = []
    for i in range(n):
        draw = rng.random()
        if draw < 0.3:
            phone = rng.choice(LOUD_PHONES)
        elif draw < 0.55:
            phone = rng.choice(MIDDLE_PHONES)
        else:
            phone = f"79{rng.randrange(10**9):09d}"
        draw = rng.random()
        if draw < 0.1:
            ip = None
        elif draw < 0.35:
            ip = rng.choice(LOUD_IPS)
        elif draw < 0.7:
            ip = rng.choice(MIDDLE_IPS)
        else:
            ip = f"172.16.{rng.randrange(256)}.{rng.randrange(256)}"
        status = rng.choice(
            [Status.VERIFIED, Status.VERIFIED, Status.PENDING, Status.EXPIRED, Status.EXHAUSTED]
            + [Status.REFUSED] * 2
        )
        checks = {Status.EXHAUSTED: 3, Status.REFUSED: 0}.get(status, rng.choice([0, 0, 1, 2]))
        created = END - SPAN + timedelta(microseconds=rng.randrange(int(SPAN / timedelta(0, 0, 1))))
        if i % 97 == 0:  # on an hour or a day boundary exactly
            created = created.replace(minute=0, second=0, microsecond=0)
            if i % 2:
                created = created.replace(hour=0)
        rows.append(
            CallAttempt(
                phone=phone,
                ip=ip,
                status=status,
                reason=Reason.COOLDOWN if status == Status.REFUSED else "",
                channel=Channel.NONE if status == Status.REFUSED else Channel.CALL,
                checks_used=checks,
                created_at=created,
                expires_at=created + timedelta(minutes=5),
            )
        )
    CallAttempt.objects.bulk_create(rows, batch_size=300)


def change(rng: random.Random) -> None:
    """What the app and staff do to rows after writing them."""
    ids = list(CallAttempt.objects.order_by("pk").values_list("pk", flat=True))
    pending = list(CallAttempt.objects.filter(status=Status.PENDING).order_by("pk")[:60])
    for attempt in pending[:30]:  # confirms: a wrong code, then maybe the right one
        CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=F("checks_used") + 1)
        if attempt.pk % 2:
            CallAttempt.objects.filter(pk=attempt.pk).update(status=Status.VERIFIED)
    for attempt in pending[30:]:  # the happy confirm
        attempt.status = Status.VERIFIED
        attempt.save(update_fields=["status"])
    # A refusal turned into something else and back, by staff or a script.
    refused = CallAttempt.objects.filter(status=Status.REFUSED, checks_used=0).order_by("pk")
    CallAttempt.objects.filter(pk__in=list(refused.values_list("pk", flat=True)[:40])).update(
        status=Status.UNLOCKED
    )
    CallAttempt.objects.filter(pk__in=rng.sample(ids, 40)).update(status=Status.REFUSED)
    CallAttempt.objects.filter(pk__in=rng.sample(ids, 20)).update(ip="10.0.0.9")
    expire_lapsed(END - timedelta(days=20))
    CallAttempt.objects.filter(pk__in=rng.sample(ids, 60)).delete()
    delete_before(END - timedelta(days=33), batch_size=70)  # retention, in batches


def rows_grouped() -> dict[tuple, tuple[int, int]]:
    out: dict[tuple, list[int]] = defaultdict(lambda: [0, 0])
    noisy = CallAttempt.objects.filter(status=Status.REFUSED) | CallAttempt.objects.filter(
        checks_used__gt=0
    )
    for a in noisy:
        hour = int(a.created_at.timestamp()) // 3600
        for kind, key in (("phone", a.phone), ("ip", a.ip)):
            if key is None:
                continue
            for hours, start in ((1, hour), (24, hour - hour % 24)):
                t = out[(kind, key, hours, start)]
                t[0] += a.status == Status.REFUSED
                t[1] += a.checks_used
    return {k: (r, w) for k, (r, w) in out.items() if r or w}


def counts_grouped() -> dict[tuple, tuple[int, int]]:
    out = {}
    for c in OffenderCount.objects.all():
        assert c.score == c.refused + c.wrong
        assert c.refused or c.wrong  # zeroed rows are deleted
        out[(c.kind, c.key, c.hours, c.start)] = (c.refused, c.wrong)
    return out


def from_rows(kind: str, since: datetime, until: datetime, limit: int) -> list[Offender]:
    rows = stats.offenders(kind, since, until, limit)
    return [Offender(str(r[kind]), r["refused"], r["wrong"]) for r in rows]


def test_happy_flow_writes_no_count():
    attempt = CallAttempt.objects.create(phone="79244501003", status=Status.PENDING, ip="::1")
    attempt.status = Status.VERIFIED
    attempt.save(update_fields=["status"])
    assert not OffenderCount.objects.exists()
    CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=1)  # a wrong code first
    assert counts_grouped() == rows_grouped()
    assert OffenderCount.objects.count() == 4  # phone and IP, hour and day
    # A row made quiet again (only its old version is noisy) is taken off.
    CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=0)
    assert not OffenderCount.objects.exists()
    CallAttempt.objects.filter(pk=attempt.pk).update(checks_used=2)
    assert counts_grouped() == rows_grouped()
    attempt.delete()
    assert not OffenderCount.objects.exists()


def test_counts_follow_every_write():
    rng = random.Random(17)
    seed(rng)
    assert counts_grouped() == rows_grouped()
    change(rng)
    assert counts_grouped() == rows_grouped()
    CallAttempt.objects.filter(status=Status.REFUSED).delete()
    assert counts_grouped() == rows_grouped()


def windows(rng: random.Random) -> list[tuple[datetime, datetime]]:
    out = []
    for _ in range(120):  # any instants, any length up to 30 days
        until = END - timedelta(seconds=rng.uniform(0, 12 * 86400))
        out.append((until - timedelta(seconds=rng.uniform(0, 30 * 86400)), until))
    for days in (1, 7, 30):  # the report's periods, at unaligned and aligned moments
        for until in (END, END - timedelta(days=3, minutes=41), datetime(2026, 10, 20, tzinfo=UTC)):
            out.append((until - timedelta(days=days), until))
    hour = datetime(2026, 10, 22, 13, tzinfo=UTC)
    out += [
        (hour, hour + timedelta(hours=1)),  # one whole hour, no edge
        (hour + timedelta(minutes=1), hour + timedelta(minutes=50)),  # inside one hour
        (hour - timedelta(minutes=30), hour + timedelta(minutes=20)),  # across one boundary
        (hour, hour),  # empty
    ]
    return out


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_top_from_counts_equals_top_from_rows(zone, monkeypatch):
    rng = random.Random(1717)
    seed(rng)
    change(rng)
    paths: list[str] = []  # which way each list was found
    keys, totals = offenders._keys, offenders._totals

    def spy_keys(kind, c, *, limit=0, at_least=0):
        paths.append("threshold" if at_least else "candidates")
        return keys(kind, c, limit=limit, at_least=at_least)

    def spy_totals(kind, c, wanted, limit=None):
        if wanted is None:
            paths.append("rows")
        return totals(kind, c, wanted, limit)

    monkeypatch.setattr(offenders, "_keys", spy_keys)
    monkeypatch.setattr(offenders, "_totals", spy_totals)
    ties = 0
    with timezone.override(ZoneInfo(zone)):  # buckets are UTC: the zone must not matter
        for since, until in windows(rng):
            for kind in ("phone", "ip"):
                limit = rng.choice([1, 2, 3, 5, 10, 25])
                expected = from_rows(kind, since, until, limit)
                assert offenders.top(kind, since, until, limit) == expected, (kind, since, until)
                longer = from_rows(kind, since, until, limit + 1)
                if len(longer) > limit and longer[limit].score == longer[limit - 1].score:
                    ties += 1  # a tie across the list's end: the key order decides
    assert ties > 20
    # Each way is taken often: the threshold (counts), all candidates, the rows.
    assert paths.count("threshold") > 50
    assert paths.count("candidates") - paths.count("threshold") - paths.count("rows") > 5
    assert paths.count("rows") > 20


def test_report_uses_the_counts():
    rng = random.Random(5)
    seed(rng, n=400)
    for key in ("1d", "7d", "30d"):
        report = stats.report(key, at=END)
        since = END - stats.get_period(key).length
        assert report.top_phones == from_rows("phone", since, END, 10)
        assert report.top_ips == from_rows("ip", since, END, 10)
        assert report.top_phones


def test_cover_is_whole_days_then_hours_then_rows():
    since = datetime(2026, 10, 1, 22, 30, tzinfo=UTC)
    until = datetime(2026, 10, 4, 1, 15, tzinfo=UTC)
    c = offenders.cover(since, until)
    first = int(datetime(2026, 10, 1, 23, tzinfo=UTC).timestamp()) // 3600
    assert c.ranges == [
        (1, first, first + 1),
        (24, first + 1, first + 49),
        (1, first + 49, first + 50),
    ]
    assert c.edges == [
        (since, datetime(2026, 10, 1, 23, tzinfo=UTC)),
        (datetime(2026, 10, 4, 1, tzinfo=UTC), until),
    ]
    assert c.parts == 1 + 2 + 1 + 1


def test_install_counts_the_rows_already_there():
    # What migration 0006 does on a site with attempts: the backfill.
    with connection.schema_editor() as editor:
        offender_counts.uninstall(editor)
    seed(random.Random(3), n=300)
    assert not OffenderCount.objects.exists()
    with connection.schema_editor() as editor:
        offender_counts.install(editor)
    assert counts_grouped() == rows_grouped()
    CallAttempt.objects.filter(status=Status.REFUSED).delete()  # the triggers are back
    assert counts_grouped() == rows_grouped()
