"""The shape of a monitoring report: the periods it covers, its totals,
its chart buckets and its offenders. Plain data; :mod:`.stats` fills it
from the database."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Period:
    key: str  # "1d", "7d", "30d"
    label: str | Promise  # translated when shown
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
    pending: int = 0  # in flight, or waiting for its code within the TTL
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
    # Per provider (SPEC §8): monitoring.providers.ProviderRow, configured order.
    providers: list[Any] = field(default_factory=list)

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
                "providers": [p.as_dict() for p in self.providers],
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
