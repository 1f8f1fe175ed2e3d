"""``flashcall_sync_status``: delivery status and price of recent calls, for cron.

    */10 * * * *  python manage.py flashcall_sync_status --since-hours 24

The work is done by :mod:`django_flashcall.monitoring.delivery`, which the admin's
"fetch delivery status" action also runs.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...monitoring.delivery import due_for_sync, sync_attempts


class Command(BaseCommand):
    help = (
        "Fetch delivery status, status info and price (the provider's get_status) of "
        "recent calls that have none yet."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since-hours",
            type=float,
            default=24,
            help="Look at attempts created in the last N hours (default 24).",
        )
        parser.add_argument(
            "--limit", type=int, default=500, help="Check at most N attempts (default 500)."
        )
        parser.add_argument(
            "--min-age",
            type=float,
            default=60,
            help="Skip calls younger than N seconds: their outcome may not be final (default 60).",
        )

    def handle(
        self, *args: Any, since_hours: float, limit: int, min_age: float, **options: Any
    ) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        attempts = due_for_sync(since_hours, min_age)[:limit]
        try:
            result = sync_attempts(attempts)
        except NotImplementedError:
            raise CommandError("The configured provider does not report delivery status.") from None
        self.stdout.write(
            f"Checked {result.checked} attempts: {result.delivered} delivered, "
            f"{result.undelivered} not delivered, {result.unknown} unknown, "
            f"{result.errors} unknown to the provider."
        )
        if result.stopped:
            raise CommandError(f"Stopped: the provider failed ({result.stopped}).")
