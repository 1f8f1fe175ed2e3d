"""One read of a window's counts, shared by the report's totals and its
per-provider rows.

The totals (:mod:`.tally`) group the 15-minute counts by (status, reason),
the provider rows (:mod:`.providers`) by (provider, status, failed_before),
and both count the pending codes still live and read the rows of the two
partial quarter hours at the window's ends. Each of those reads the same
slots or rows: at 30 days that is ~50k count rows per grouping. So
:func:`read` groups them once by all four columns (a few dozen groups,
whatever the window) and each consumer sums what it needs in Python;
:func:`~.stats.report` passes the one :class:`Window` to both.

The chart's bars (local hours or days) are unions of slots: every zone in
use is a whole number of quarter hours from UTC. Given the bars' starts,
the same grouping also splits by bar (``width_bucket`` over the bars' first
slots on PostgreSQL): ~30 × 18 groups instead of a second pass over the
slots grouped per slot (2,880 result rows at 30 days).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Case, Count, Expression, IntegerField, Q, QuerySet, Sum, Value, When
from django.db.models.expressions import RawSQL

from ..models import CallAttempt, CallCount, Status
from . import counts

KEYS = ("provider", "status", "reason", "failed_before")


def slot_start(slot: int) -> datetime:
    return datetime.fromtimestamp(slot * counts.SLOT, UTC)


@dataclass
class Window:
    """``[since, until)`` as whole slots ``[first, last)`` from the counts
    (none when ``first == last``: then every number comes from the rows)
    and the ends from the rows."""

    since: datetime
    until: datetime
    bucket: str  # the bars the end rows are grouped by ("hour" or "day")
    starts: list[datetime] | None  # the bars' starts, when groups are split by bar
    first: int
    last: int
    # breakdown() rows of the ends, also grouped by provider and failed_before.
    rows: list[dict[str, Any]] = field(default_factory=list)
    # The slots' sums per KEYS, and per bar when ``starts`` are given:
    # "bar" is then 1 + the index of its start in ``starts``.
    groups: list[dict[str, Any]] = field(default_factory=list)
    # Pending codes of the whole slots still live at ``until``, per provider.
    live: dict[str, int] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return self.first < self.last

    def slots(self) -> QuerySet:
        """The count rows of the whole slots."""
        return CallCount.objects.filter(slot__gte=self.first, slot__lt=self.last).order_by()

    def slot_rows(self) -> list[dict[str, Any]]:
        """:attr:`groups` in :func:`~.stats.summarize`'s shape: totals only."""
        return [{**g, "bucket": None, "stale": 0} for g in self.groups]

    def lapsed(self, provider: str | None = None) -> int:
        """The slots' pending codes that lapsed by ``until`` (of ``provider``,
        or all): the counts cannot know, the rows of the live ones tell."""
        pending = sum(
            g["n"]
            for g in self.groups
            if g["status"] == Status.PENDING and provider in (None, g["provider"])
        )
        live = sum(n for p, n in self.live.items() if provider in (None, p))
        return pending - live


def read(
    since: datetime,
    until: datetime,
    bucket: str = "day",
    starts: list[datetime] | None = None,
) -> Window:
    """The counts and rows of ``[since, until)``, each read once; the slots'
    sums split by the bars starting at ``starts`` (ascending) if given."""
    from .stats import breakdown  # stats imports the consumers of this module

    first = math.ceil(since.timestamp() / counts.SLOT)
    last = math.floor(until.timestamp() / counts.SLOT)
    if first >= last or not counts.active(connection):
        w = Window(since, until, bucket, starts, last, last)
        ends = [(since, until)]
    else:
        w = Window(since, until, bucket, starts, first, last)
        ends = [(since, slot_start(first)), (slot_start(last), until)]
    for lo, hi in ends:
        if lo < hi:  # aligned ends read nothing
            w.rows += [dict(r) for r in breakdown(lo, hi, bucket, lapsed_by=until, by=KEYS)]
    if not w.counted:
        return w
    sums = {s: Sum(s) for s in counts.SUMS}
    # n = 0: counts of rows since deleted; a group of them would name a
    # reason with no attempt.
    grouped = w.slots().exclude(n=0)
    keys: tuple[str, ...] = KEYS
    if starts is not None:
        grouped, keys = grouped.annotate(bar=_bar(starts)), ("bar", *KEYS)
    grouped = grouped.values(*keys).annotate(**sums).order_by()
    w.groups = [dict(g) for g in grouped]
    w.live = dict(
        CallAttempt.objects.filter(
            status=Status.PENDING,
            created_at__gte=slot_start(w.first),
            created_at__lt=slot_start(w.last),
        )
        .filter(Q(expires_at__gt=until) | Q(expires_at__isnull=True))
        .values_list("provider")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return w


def _bar(starts: list[datetime]) -> Expression:
    """1 + the index of the last bar starting at or before the slot's start
    (0: before the first), like ``bisect_right(starts, slot_start(slot))``."""
    # A slot starts at or after a bar's start when it is at or after the
    # first slot that does.
    firsts = [math.ceil(s.timestamp() / counts.SLOT) for s in starts]
    if connection.vendor == "postgresql":  # a binary search per row
        return RawSQL("width_bucket(slot, %s::bigint[])", (firsts,), IntegerField())
    whens = [When(slot__gte=f, then=Value(i + 1)) for i, f in enumerate(firsts)]
    return Case(*reversed(whens), default=Value(0), output_field=IntegerField())
