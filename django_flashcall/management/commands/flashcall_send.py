"""``flashcall_send <phone> [--sms]``: place one real call from the shell.

It goes through ``services.request_code``, so every limit applies and the
attempt is logged like any other. It prints the attempt, never the code
(the server never has it in clear after the call) nor the token.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import services
from ...conf import flashcall_settings
from ...exceptions import FlashCallError
from ...phone import pretty


class Command(BaseCommand):
    help = (
        "Place one flash call to PHONE through the configured provider (a paid call "
        "with the real provider), subject to every limit."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phone", help='Any spelling, e.g. "+7 912 345-67-89".')
        parser.add_argument(
            "--sms",
            action="store_true",
            help="Let the provider fall back to an SMS (needs FLASHCALL_SMS_FALLBACK = True).",
        )

    def handle(self, *args: Any, phone: str, sms: bool, **options: Any) -> None:
        # Only the site opts in to SMS (services.request_code): say so rather
        # than place a paid call other than the one asked for.
        if sms and not flashcall_settings.SMS_FALLBACK:
            raise CommandError("--sms needs FLASHCALL_SMS_FALLBACK = True; no call placed.")
        try:
            attempt = services.request_code(phone, sms_fallback=sms)
        except FlashCallError as exc:
            detail = f"{exc.detail} ({exc.code}"
            retry_after = exc.extra.get("retry_after")
            if retry_after:
                detail += f", retry after {retry_after} s"
            if exc.reason:
                detail += f", reason: {exc.reason}"
            # A timeout may still have placed a call: say "failed", not "no call".
            raise CommandError(f"Request failed: {detail}).") from None
        self.stdout.write(f"attempt:     {attempt.public_id}")
        self.stdout.write(f"phone:       {pretty(attempt.phone)}")
        self.stdout.write(f"status:      {attempt.status}")
        self.stdout.write(f"channel:     {attempt.channel}")
        self.stdout.write(f"provider:    {attempt.provider or '-'}")
        self.stdout.write(f"provider id: {attempt.provider_id or '-'}")
        self.stdout.write(
            f"expires at:  {attempt.expires_at.isoformat() if attempt.expires_at else '-'}"
        )
