"""The monitoring page's data: cached reports and the provider balance."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..conf import low_balance
from ..internal.cache import CacheUnavailable, shared_cache
from ..models import Status
from ..monitoring import stats
from ..monitoring.charts import timeline_chart
from ..phone import mask, pretty
from ..providers import BaseProvider, ProviderError, get_provider, get_providers
from ..providers.base import redact
from .common import can_see_full_phone, nowrap, reason_label

logger = logging.getLogger("django_flashcall")

BALANCE_TIMEOUT = 3.0  # seconds the monitoring page waits for get_balance
BALANCE_CACHE = (60, 30)  # seconds to keep an answer, a failure
# Seconds the monitoring page reuses a report. Its totals and chart come from
# the 15-minute counts, but the top phones and IPs group the window's refused
# and wrong-code rows: recomputing a 30-day report on each page view would let
# a few open tabs load the database.
REPORT_CACHE = {"1d": 30, "7d": 300, "30d": 900}


def _cached(key: str, compute: Any, timeout: Any, *, refresh: bool = False) -> Any:
    """``compute()``, kept in the shared cache for ``timeout(value)`` seconds.

    With the cache down the page still works, uncached: that is when staff
    most need it (to see the ``cache_unavailable`` refusals)."""
    cache = shared_cache()
    value = None
    if not refresh:
        try:
            value = cache.get(key)
        except CacheUnavailable as exc:
            logger.warning("Monitoring page: %s", exc)
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout(value))
        except CacheUnavailable as exc:
            logger.warning("Monitoring page: %s", exc)
    return value


def cached_report(period: stats.Period, *, refresh: bool = False) -> stats.Report:
    """``stats.report(period)``, reused for ``REPORT_CACHE[period.key]`` seconds."""
    key = f"flashcall:admin:report:{period.key}:{timezone.get_current_timezone_name()}"
    timeout = REPORT_CACHE.get(period.key, 60)
    return _cached(key, lambda: stats.report(period), lambda _: timeout, refresh=refresh)


def monitor_context(request: HttpRequest, report: stats.Report, site: str) -> dict[str, Any]:
    changelist = reverse("admin:django_flashcall_callattempt_changelist", current_app=site)
    since = {"created_at__gte": report.since.isoformat()}

    def link(**filters: str) -> str:
        return f"{changelist}?{urlencode({**since, **filters})}"

    full = can_see_full_phone(request)
    s = report.summary
    phones = [
        {
            "label": nowrap(pretty(o.key) if full else mask(o.key)),
            "url": f"{changelist}?{urlencode({'q': o.key})}" if full else "",
            "row": o,
        }
        for o in report.top_phones
    ]
    ips = [
        {"label": o.key, "url": f"{changelist}?{urlencode({'q': o.key})}", "row": o}
        for o in report.top_ips
    ]
    chart_title = (
        _("Attempts per hour") if report.period.bucket == "hour" else _("Attempts per day")
    )
    return {
        "report": report,
        "summary": s,
        "conversion_percent": s.conversion * 100 if s.conversion is not None else None,
        "periods": [(p, p.key == report.period.key) for p in stats.PERIODS.values()],
        "chart": timeline_chart(report.timeline, report.period.bucket, title=str(chart_title)),
        "failed_rows": [
            (reason_label(r), n, link(status=Status.FAILED, reason=r))
            for r, n in s.failed_by_reason.items()
        ],
        "refused_rows": [
            (reason_label(r), n, link(status=Status.REFUSED, reason=r))
            for r, n in s.refused_by_reason.items()
        ],
        "links": {
            # Unlock markers are not requests (the summary leaves them out too).
            "all": link(status__in=",".join(s for s in Status.values if s != Status.UNLOCKED)),
            "verified": link(status=Status.VERIFIED),
            "expired": link(expired="yes"),  # lapsed pending rows too, as counted
            "exhausted": link(status=Status.EXHAUSTED),
            "failed": link(status=Status.FAILED),
            "refused": link(status=Status.REFUSED),
        },
        "offender_tables": [(_("Phones"), phones), (_("IP addresses"), ips)],
        "provider_rows": [
            (r, r.conversion * 100 if r.conversion is not None else None)
            for r in getattr(report, "providers", [])  # a report cached before 0.2 has none
        ],
        **balances_context(),
    }


def balances_context() -> dict[str, Any]:
    """``balance``: the first provider's; ``balances``: ``(name, info)`` of each
    provider, the name left out when there is only one."""
    providers = get_providers()
    balances = [(p.name if len(providers) > 1 else "", provider_balance(p)) for p in providers]
    return {"balance": balances[0][1], "balances": balances}


# -- the provider balance -----------------------------------------------------


@dataclass
class BalanceInfo:
    balance: Decimal | None = None
    price: Decimal | None = None
    balance_limit: Decimal | None = None
    error: str = ""  # why it is unavailable; never holds the token
    low: bool = False
    calls_left: int | None = None


def provider_balance(provider: BaseProvider | None = None) -> BalanceInfo:
    """A provider's balance (the first's by default), cached briefly; an
    ``error`` instead of raising."""
    provider = provider or get_provider()
    key = f"flashcall:admin:balance:{type(provider).__name__}:{provider.name}"
    return _cached(
        key,
        lambda: _fetch_balance(provider),
        lambda info: BALANCE_CACHE[1] if info.error else BALANCE_CACHE[0],
    )


def _fetch_balance(provider: BaseProvider) -> BalanceInfo:
    # The provider's own timeout is the call's (up to 15 s read); the page
    # waits BALANCE_TIMEOUT at most and leaves the thread to finish alone.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flashcall-balance")
    try:
        future = pool.submit(provider.get_balance)
    finally:
        pool.shutdown(wait=False)
    try:
        balance = future.result(timeout=BALANCE_TIMEOUT)
    except TimeoutError:
        return BalanceInfo(error=str(_("the provider did not answer in time")))
    except NotImplementedError:
        return BalanceInfo(error=str(_("this provider does not report a balance")))
    except ProviderError as exc:
        return BalanceInfo(error=redact(exc.message))
    except Exception as exc:  # a custom provider's bug must not break the page
        logger.warning("get_balance failed: %s", type(exc).__name__)
        return BalanceInfo(error=str(_("unexpected error")))
    info = BalanceInfo(balance.balance, balance.price, balance.balance_limit)
    low = low_balance()
    if info.balance is not None:
        info.low = low is not None and info.balance < low
        if info.price:
            left = (info.balance - (info.balance_limit or 0)) // info.price
            info.calls_left = max(0, int(left))
    return info


# -- phones and users ----------------------------------------------------------
