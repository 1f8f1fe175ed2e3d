"""Monitoring per provider (SPEC §8): calls, failures, conversion and spend
of each ``FLASHCALL_PROVIDERS`` entry over a window, from the 15-minute
counts (and the rows of the window's partial quarter hours).

A request's row names the provider that placed its call (or failed last)
and, in ``failed_before``, those that failed before it on the same request
(surely without a call, so the next one was asked). A provider's failures
are both: the requests that ended with its failure, and the ones it passed
on to the next provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..models import Status

if TYPE_CHECKING:
    from .window import Window

__all__ = ["PLACED", "ProviderRow", "provider_rows"]

# A call went out: the provider accepted it (FAILED means it may not have).
PLACED = (Status.CALLING, Status.PENDING, Status.VERIFIED, Status.EXPIRED, Status.EXHAUSTED)
PRICE_QUANTUM = Decimal("0.0001")


@dataclass
class ProviderRow:
    name: str  # "" for calls no provider placed (test numbers, rows from 0.1)
    placed: int = 0
    verified: int = 0
    failed: int = 0  # requests that ended failed at this provider
    failed_over: int = 0  # its failures after which the next provider was asked
    priced: int = 0
    spend: Decimal = Decimal("0.0000")

    @property
    def failures(self) -> int:
        return self.failed + self.failed_over

    @property
    def conversion(self) -> float | None:
        """verified / placed, or None when it placed nothing."""
        return self.verified / self.placed if self.placed else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "placed": self.placed,
            "verified": self.verified,
            "failed": self.failed,
            "failed_over": self.failed_over,
            "failures": self.failures,
            "conversion": self.conversion,
            "priced": self.priced,
            "spend": str(self.spend),
        }


def provider_rows(
    since: datetime,
    until: datetime,
    order: list[str] | None = None,
    read: Window | None = None,
) -> list[ProviderRow]:
    """One row per provider seen in ``[since, until)``; the configured order
    (``order``, by default ``FLASHCALL_PROVIDERS``'s) first, then the rest.
    ``read``: the window's counts already read (:func:`~.stats.report`)."""
    rows: dict[str, ProviderRow] = {}

    def row(name: str) -> ProviderRow:
        return rows.setdefault(name, ProviderRow(name))

    for item in _groups(since, until, read):
        for name in item["failed_before"].split(","):
            if name:
                row(name).failed_over += item["n"]
        if item["status"] not in (*PLACED, Status.FAILED):
            continue
        r = row(item["provider"] or "")
        if item["status"] == Status.FAILED:
            r.failed += item["n"]
        else:
            r.placed += item["n"]
            if item["status"] == Status.VERIFIED:
                r.verified += item["n"]
        r.priced += item["priced"]
        r.spend += (item["spend"] or Decimal(0)).quantize(PRICE_QUANTUM)
    if order is None:
        from ..providers import get_providers

        try:
            order = [p.name for p in get_providers()]
        except Exception:  # noqa: BLE001  a broken setting must not break monitoring
            order = []
    rank = {name: i for i, name in enumerate(order)}
    return sorted(rows.values(), key=lambda r: (rank.get(r.name, len(rank)), r.name))


def _groups(since: datetime, until: datetime, read: Window | None) -> list[dict[str, Any]]:
    """Calls and failures per (provider, status, reason, failed_before) in
    ``[since, until)``: a handful of groups ("", "telefon-ip", "telefon-ip,sms.ru"...).
    The whole quarter hours come from the 15-minute counts
    (:mod:`.counts`), the partial ones at the ends from the rows, both read
    once for the report by :mod:`.window`."""
    from . import window

    w = read or window.read(since, until)
    return w.rows + w.groups
