"""The monitoring page's balance box for the answers a site's own provider
may give: no amount, no threshold set, or an exception of its own."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core.cache import cache

from django_flashcall.providers import Balance, BaseProvider, ProviderResult

pytestmark = pytest.mark.django_db

MONITOR = "/admin/django_flashcall/callattempt/monitor/"


class SiteProvider(BaseProvider):
    """A site's provider; ``answer`` is what its get_balance() gives or raises."""

    answer: Balance | Exception = Balance(None)

    def send(self, phone: str, *, sms_fallback: bool = False) -> ProviderResult:
        raise AssertionError("the monitoring page places no call")

    def get_balance(self) -> Balance:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def site_provider(settings, monkeypatch):
    settings.FLASHCALL_PROVIDER = f"{__name__}.SiteProvider"
    cache.clear()  # the page keeps a balance for a minute

    def answer(value):
        monkeypatch.setattr(SiteProvider, "answer", value)

    return answer


def balance_box(client):
    response = client.get(MONITOR)
    assert response.status_code == 200
    return response.context["balance"], response.content.decode()


def test_a_balance_without_an_amount_is_shown_as_unknown_not_low(admin_client, site_provider):
    site_provider(Balance(None, price=Decimal("1.50")))
    info, page = balance_box(admin_client)
    assert (info.balance, info.price, info.error) == (None, Decimal("1.50"), "")
    # Unknown is not "low" (FLASHCALL_LOW_BALANCE is 50), and no calls are counted.
    assert info.low is False and info.calls_left is None
    assert "The balance is low" not in page
    assert "Calls left" not in page


def test_without_a_threshold_no_balance_is_low(admin_client, site_provider, settings):
    settings.FLASHCALL_LOW_BALANCE = None
    site_provider(Balance(Decimal("0"), price=Decimal("2")))
    info, page = balance_box(admin_client)
    assert (info.balance, info.low, info.calls_left) == (Decimal("0"), False, 0)
    assert "The balance is low" not in page


def test_a_providers_own_exception_is_unavailable_not_a_500(admin_client, site_provider, caplog):
    site_provider(ZeroDivisionError("token=SECRET-123 in the message"))
    with caplog.at_level(logging.WARNING, logger="django_flashcall"):
        info, page = balance_box(admin_client)
    assert info.error == "unexpected error"
    assert "unavailable" in page
    assert "SECRET-123" not in page and "SECRET-123" not in caplog.text
    assert "get_balance failed: ZeroDivisionError" in caplog.text
