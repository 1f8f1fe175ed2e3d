"""``flashcall_stats [--period 1d|7d|30d] [--json]``: the monitoring numbers."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...models import Reason
from ...monitoring import stats


class Command(BaseCommand):
    help = "Print the monitoring numbers of the admin page: calls, outcomes, refusals, spend."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--period",
            default=stats.DEFAULT_PERIOD,
            choices=sorted(stats.PERIODS, key=lambda k: stats.PERIODS[k].length),
            help="The window, ending now (default 1d).",
        )
        parser.add_argument("--json", action="store_true", help="Print JSON.")
        parser.add_argument("--top", type=int, default=10, help="Phones and IPs to list.")

    def handle(self, *args: Any, period: str, top: int, **options: Any) -> None:
        if top < 0:
            raise CommandError("--top must be 0 or more.")
        report = stats.report(period, top=top)
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
            return
        s = report.summary
        out = self.stdout.write
        out(
            f"{report.period.label}: {report.since:%Y-%m-%d %H:%M} .. {report.until:%Y-%m-%d %H:%M}"
        )
        conversion = f"{s.conversion:.1%}" if s.conversion is not None else "-"
        for label, value in [
            ("requests", s.requests),
            ("calls placed", s.placed),
            ("verified", s.verified),
            ("conversion", conversion),
            ("expired", s.expired),
            ("exhausted (wrong codes)", s.exhausted),
            ("pending", s.pending),
            ("wrong codes", s.wrong_codes),
            ("provider errors", s.failed),
            ("refused by a limit", s.refused),
            ("delivered / not", f"{s.delivered} / {s.undelivered}"),
            ("spend (known prices)", f"{s.spend} ({s.priced} calls priced)"),
        ]:
            out(f"  {label:<26}{value}")
        for title, counts in [
            ("provider errors by reason", s.failed_by_reason),
            ("refusals by reason", s.refused_by_reason),
        ]:
            if counts:
                out(f"{title}:")
                for reason, n in counts.items():
                    out(f"  {_reason(reason):<40}{n}")
        providers = getattr(report, "providers", [])
        if len(providers) > 1 or any(p.failed_over for p in providers):
            out("per provider (placed, verified, conversion, failures, spend):")
            for p in providers:
                rate = f"{p.conversion:.1%}" if p.conversion is not None else "-"
                out(
                    f"  {p.name or '(none)':<16}{p.placed:>7} placed{p.verified:>7} verified"
                    f"{rate:>8}{p.failures:>7} failed ({p.failed_over} passed on)"
                    f"  {p.spend}"
                )
        for title, offenders in [("top phones", report.top_phones), ("top IPs", report.top_ips)]:
            if offenders:
                out(f"{title} (refusals + wrong codes):")
                for o in offenders:
                    out(f"  {o.key:<40}{o.refused} refused, {o.wrong_codes} wrong codes")


def _reason(value: str) -> str:
    if not value:
        return "(none)"
    try:
        return f"{value} ({Reason(value).label})"
    except ValueError:
        return value
