"""``flashcall_balance``: the provider's balance, price per call and limit.

Exit status 1, with the reason on stderr, when the provider cannot tell; a
warning on stderr when the balance is below ``FLASHCALL_LOW_BALANCE``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...conf import flashcall_settings
from ...providers import ProviderError, get_provider
from ...providers.base import redact


class Command(BaseCommand):
    help = "Print the provider's balance, price per call and balance limit."

    def handle(self, *args: Any, **options: Any) -> None:
        failure = ""
        try:
            balance = get_provider().get_balance()
        except NotImplementedError:
            failure = "the configured provider does not report a balance"
        except ProviderError as exc:
            failure = redact(exc.message)
        if failure:
            raise CommandError(f"Balance unavailable: {failure}.")
        self.stdout.write(f"balance:       {_show(balance.balance)}")
        self.stdout.write(f"price:         {_show(balance.price)}")
        self.stdout.write(f"balance limit: {_show(balance.balance_limit)}")
        if balance.balance is not None and balance.price:
            left = (balance.balance - (balance.balance_limit or 0)) // balance.price
            self.stdout.write(f"calls left:    {max(0, int(left))}")
        low = flashcall_settings.LOW_BALANCE
        if balance.balance is not None and low is not None and balance.balance < low:
            self.stderr.write(
                self.style.WARNING(
                    f"Warning: the balance {balance.balance} is below "
                    f"FLASHCALL_LOW_BALANCE ({low}): top up before calls start failing."
                )
            )


def _show(value: Any) -> str:
    return "unknown" if value is None else str(value)
