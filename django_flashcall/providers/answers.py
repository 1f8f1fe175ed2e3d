"""Reading telefon-ip's answers: money amounts, flags, call ids, and
whether a refusal concerns one phone or the whole account.

The provider documents few of its answer shapes (see
tests/test_provider_telefonip.py for the undocumented ones we read); each
reader here returns None, or the safe reading, for anything unexpected.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

MAX_AMOUNT = Decimal(10) ** 6  # the price column holds 10 digits, 4 after the point
# Words in a get_code refusal that mean "this phone", not "this account"
# (the provider caps calls per phone per day; its wording is not documented)...
PER_PHONE_WORDS = ("limit", "phone", "format", "лимит", "номер", "телефон", "звонк", "сутк")
# ...unless they name the account's money, which is everybody's problem.
ACCOUNT_WORDS = ("balance", "funds", "money", "баланс", "средств", "денег")


def amount(value: Any) -> Decimal | None:
    """A money amount, or None for anything that is not a sane one (NaN,
    Infinity, 1e30 would break comparisons and the price column)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or abs(number) >= MAX_AMOUNT:
        return None
    return number


def flag(value: Any) -> bool | None:
    """A documented flag (true/false, 1/0, "1"/"0"...) or None for anything
    else: a status 2 ("in progress"?) must not be read as delivered."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return True if value == 1 else False if value == 0 else None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in {"1", "true", "ok", "yes", "delivered"}:
            return True
        if text in {"0", "false", "no", "failed"}:
            return False
    return None


def one_phone(error: str) -> bool:
    """Whether a refusal concerns one phone (it must not open the breaker)."""
    text = error.lower()
    return not any(w in text for w in ACCOUNT_WORDS) and any(w in text for w in PER_PHONE_WORDS)


def no_funds(error: str) -> bool:
    """Whether a refusal says the account is out of money."""
    text = error.lower()
    return any(w in text for w in ACCOUNT_WORDS)


def call_id(value: Any) -> str:
    """The provider's call id as we store it ("" if there is none)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 168.0 → "168", the id get_status/168/ expects
    return str(value)[:64] if value not in (None, "") else ""
