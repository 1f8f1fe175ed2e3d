"""``flashcall_balance``: each provider's balance, price per call and limit.

With several providers (``FLASHCALL_PROVIDERS``) each that reports a
balance gets a section under its name. Exit status 1, with the reason on
stderr, when a provider cannot tell (or none reports a balance); a warning
on stderr when a balance is below ``FLASHCALL_LOW_BALANCE``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from ...conf import flashcall_settings
from ...providers import BaseProvider, ProviderError, get_providers
from ...providers.base import Balance, redact


class Command(BaseCommand):
    help = "Print each provider's balance, price per call and balance limit."

    def handle(self, *args: Any, **options: Any) -> None:
        providers = get_providers()
        several = len(providers) > 1
        failures: list[str] = []
        reported = 0
        for provider in providers:
            failure = ""
            try:
                balance = provider.get_balance()
            except NotImplementedError:
                if several:
                    self.stdout.write(f"{provider.name}: does not report a balance")
                    continue
                failure = "the configured provider does not report a balance"
            except ProviderError as exc:
                failure = redact(exc.message)
            if failure:
                failures.append(f"{provider.name}: {failure}" if several else failure)
                continue
            reported += 1
            self._show(provider, balance, several)
        if failures or not reported:
            reasons = "; ".join(failures) or "no provider reports a balance"
            raise CommandError(f"Balance unavailable: {reasons}.")

    def _show(self, provider: BaseProvider, balance: Balance, several: bool) -> None:
        if several:
            self.stdout.write(f"{provider.name}:")
        self.stdout.write(f"balance:       {_show(balance.balance)}")
        if balance.price is not None or not several:
            self.stdout.write(f"price:         {_show(balance.price)}")
        if balance.balance_limit is not None or not several:
            self.stdout.write(f"balance limit: {_show(balance.balance_limit)}")
        if balance.balance is not None and balance.price:
            left = (balance.balance - (balance.balance_limit or 0)) // balance.price
            self.stdout.write(f"calls left:    {max(0, int(left))}")
        low = flashcall_settings.LOW_BALANCE
        if balance.balance is not None and low is not None and balance.balance < low:
            whose = f"{provider.name}'s balance" if several else "the balance"
            self.stderr.write(
                self.style.WARNING(
                    f"Warning: {whose} {balance.balance} is below "
                    f"FLASHCALL_LOW_BALANCE ({low}): top up before calls start failing."
                )
            )


def _show(value: Any) -> str:
    return "unknown" if value is None else str(value)
