"""The top phones and IPs of a window, exact, from the offender counts.

:func:`top` returns what :func:`.stats.offenders` returns from the rows (the
``limit`` keys with the most refusals plus wrong codes, ties by key in the
database's order) without grouping the window's rows. The window
``[since, until)`` is covered by UTC days in the middle, UTC hours at the
ends (:class:`~django_flashcall.models.OffenderCount`, kept by
:mod:`.offender_counts`) and, for the two partial hours at its edges, the
noisy rows themselves (the ``flashcall_noisy_created`` partial index): at
most 30 + 2 × 23 buckets and one edge part for 30 days.

The threshold algorithm keeps it exact:

1. Candidates: each bucket's ``limit`` best keys (one index descent per
   bucket) and the edge's. Their exact totals give ``L``, the ``limit``-th
   best total among them: the true ``limit``-th best is at least ``L``.
2. A key whose total over the ``B`` parts is at least ``L`` scores at least
   ``ceil(L / B)`` in one of them (else its total is at most
   ``B × (ceil(L / B) − 1) < L``). All keys reaching that score in some
   part are fetched (an index range per bucket), their exact totals
   computed, sorted by score then key, and the first ``limit`` kept. Ties at
   ``L`` are among them, so the order at the boundary is the rows' order.

If fewer than ``limit`` candidates come back, every part had fewer than
``limit`` keys: the candidates are all the keys, and step 1 is the answer.

The cost follows the number of keys above ``ceil(L / B)``, not the rows:
with a few standouts (the usual abuse picture) that is a few dozen keys.
When nobody stands out (``L`` is at most ``B``: the ``limit``-th best has
no more events than the window has parts) the threshold is 1, every key of
the window would qualify, and the window's noisy rows are grouped instead,
as :func:`.stats.offenders` does: exact, but as slow as before (seconds for
a month of ten million rows). A threshold of 2 or 3 still fetches every key
with an event worth 2 or 3 in one bucket (an exhausted attempt counts 3).
"""

# ruff: noqa: S608  (the SQL is built from this module's constants, never from input)
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection

from . import offender_counts
from .report import Offender

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
# Per kind: the attempt column as text (as Django reads it), the rows to
# skip, and the key's order (inet order for addresses, as the rows sort).
KINDS = {
    "phone": ("phone", "", "key"),
    "ip": ("host(ip)", "AND ip IS NOT NULL", "key::inet"),
}
NOISY_ROWS = (
    "SELECT {column} AS key, (status = 'refused')::int AS refused, checks_used AS wrong "
    f"FROM {offender_counts.ATTEMPTS} WHERE {offender_counts.NOISY} {{skip}} "
    "AND created_at >= %s AND created_at < %s"
)


@dataclass
class Cover:
    """``[since, until)`` as count buckets and edges of raw rows."""

    ranges: list[tuple[int, int, int]] = field(default_factory=list)  # (hours, first, end)
    edges: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def buckets(self) -> list[tuple[int, int]]:
        return [(h, s) for h, lo, hi in self.ranges for s in range(lo, hi, h)]

    @property
    def parts(self) -> int:
        return len(self.buckets) + (1 if self.edges else 0)


def _hour(at: datetime, up: bool) -> int:
    """``at`` in hours since the epoch, rounded up or down (exact, in integers)."""
    us = (at - EPOCH) // timedelta(microseconds=1)
    hour_us = HOUR // timedelta(microseconds=1)
    return -(-us // hour_us) if up else us // hour_us


def cover(since: datetime, until: datetime) -> Cover:
    """Whole UTC days in the middle, whole hours around them, rows at the edges."""
    first, end = _hour(since, True), _hour(until, False)
    if first >= end:  # no whole hour inside: the rows of the window
        return Cover(edges=[(since, until)] if since < until else [])
    day_first, day_end = -(-first // 24) * 24, end // 24 * 24
    if day_first < day_end:
        ranges = [(1, first, day_first), (24, day_first, day_end), (1, day_end, end)]
    else:
        ranges = [(1, first, end)]
    edges = [(since, EPOCH + first * HOUR), (EPOCH + end * HOUR, until)]
    return Cover(
        ranges=[r for r in ranges if r[1] < r[2]], edges=[(lo, hi) for lo, hi in edges if lo < hi]
    )


def _edge_rows(kind: str, c: Cover) -> tuple[str, list[Any]]:
    column, skip, _ = KINDS[kind]
    parts = [NOISY_ROWS.format(column=column, skip=skip) for _ in c.edges]
    params = [at for edge in c.edges for at in edge]
    return " UNION ALL ".join(parts), params


def _per_bucket(kind: str, c: Cover, condition: str, params: list[Any]) -> tuple[str, list[Any]]:
    """The keys picked by ``condition`` (with ``params``) in each bucket."""
    buckets = c.buckets
    sql = (
        "SELECT t.key FROM unnest(%s::smallint[], %s::bigint[]) AS b (hours, start) "
        "CROSS JOIN LATERAL (SELECT key FROM "
        f"{offender_counts.OFFENDERS} WHERE kind = %s AND hours = b.hours "
        f"AND start = b.start {condition}) AS t"
    )
    return sql, [[h for h, _ in buckets], [s for _, s in buckets], kind, *params]


def _keys(kind: str, c: Cover, *, limit: int = 0, at_least: int = 0) -> set[str]:
    """Each part's ``limit`` best keys, or its keys scoring ``at_least``."""
    if limit:
        condition, params = "ORDER BY score DESC LIMIT %s", [limit]
        edge_pick = "ORDER BY sum(refused) + sum(wrong) DESC LIMIT %s"
    else:
        condition, params = "AND score >= %s", [at_least]
        edge_pick = "HAVING sum(refused) + sum(wrong) >= %s"
    queries: list[str] = []
    args: list[Any] = []
    if c.ranges:
        sql, bucket_args = _per_bucket(kind, c, condition, params)
        queries.append(sql)
        args += bucket_args
    if c.edges:
        rows, row_args = _edge_rows(kind, c)
        queries.append(f"(SELECT key FROM ({rows}) AS e GROUP BY key {edge_pick})")
        args += [*row_args, *params]
    if not queries:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(" UNION ".join(queries), args)
        return {key for (key,) in cursor.fetchall()}


def _totals(kind: str, c: Cover, keys: set[str] | None, limit: int | None = None) -> list[Offender]:
    """The exact refusals and wrong codes of ``keys`` (None: every key) in
    the window, the noisiest first, ties by key in the database's order."""
    if keys is not None and not keys:
        return []
    wanted = sorted(keys) if keys is not None else None
    only = "AND key = ANY(%s)" if wanted is not None else ""
    picked: list[Any] = [wanted] if wanted is not None else []
    parts: list[str] = []
    args: list[Any] = []
    for hours, first, end in c.ranges:
        parts.append(
            f"SELECT key, refused, wrong FROM {offender_counts.OFFENDERS} WHERE kind = %s "
            f"{only} AND hours = %s AND start >= %s AND start < %s"
        )
        args += [kind, *picked, hours, first, end]
    if c.edges:
        rows, row_args = _edge_rows(kind, c)
        parts.append(f"SELECT key, refused, wrong FROM ({rows}) AS e WHERE true {only}")
        args += [*row_args, *picked]
    order = KINDS[kind][2]
    sql = (
        f"SELECT key, sum(refused), sum(wrong) FROM ({' UNION ALL '.join(parts)}) AS d "
        "GROUP BY key HAVING sum(refused) + sum(wrong) > 0 "
        f"ORDER BY sum(refused) + sum(wrong) DESC, {order}"
    )
    if limit is not None:
        sql += " LIMIT %s"
        args.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return [Offender(key, int(refused), int(wrong)) for key, refused, wrong in cursor]


def top(kind: str, since: datetime, until: datetime, limit: int = 10) -> list[Offender]:
    """The ``limit`` phones (``kind`` "phone") or IPs ("ip") with the most
    refusals plus wrong codes in ``[since, until)``, from the counts."""
    c = cover(since, until)
    if limit <= 0 or not (c.ranges or c.edges):
        return []
    candidates = _keys(kind, c, limit=limit)
    ranked = _totals(kind, c, candidates)
    if len(candidates) < limit:  # no part had more keys: these are all of them
        return ranked[:limit]
    floor = ranked[limit - 1].score if len(ranked) >= limit else 1
    threshold = max(1, math.ceil(floor / c.parts))
    if threshold == 1:  # every key qualifies: grouping the rows costs less
        return _totals(kind, Cover(edges=[(since, until)]), None, limit)
    keys = _keys(kind, c, at_least=threshold) | {o.key for o in ranked[:limit]}
    return _totals(kind, c, keys, limit)


def active() -> bool:
    """Whether :func:`top` can be used on this database (the counts are kept)."""
    return offender_counts.active(connection)
