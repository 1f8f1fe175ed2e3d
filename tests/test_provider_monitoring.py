"""Per provider (SPEC §8): the monitoring numbers, the admin page,
flashcall_stats, flashcall_balance and flashcall_sync_status, with several
providers configured, against the fake servers."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_flashcall import services
from django_flashcall.internal.clock import now
from django_flashcall.models import CallAttempt
from django_flashcall.monitoring import stats
from django_flashcall.monitoring.delivery import due_for_sync
from django_flashcall.testing import refused_url

pytestmark = pytest.mark.django_db(transaction=True)
MONITOR = "/admin/django_flashcall/callattempt/monitor/"


@pytest.fixture
def three(settings, fake_telefonip, fake_smsru, fake_ucaller):
    settings.FLASHCALL_PROVIDERS = [
        "django_flashcall.providers.TelefonIPProvider",
        fake_smsru.provider_entry(),
        fake_ucaller.provider_entry(),
    ]
    return fake_telefonip, fake_smsru, fake_ucaller


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def traffic(three, settings):
    """telefon-ip refuses connections: two calls by sms.ru (one verified),
    then sms.ru is out of money too: one call by uCaller."""
    telefonip, smsru, ucaller = three
    settings.FLASHCALL_API_URL = refused_url()
    services.request_code("79244500001")
    services.request_code("79244500002")
    services.confirm_code("79244500001", smsru.last_code("79244500001"))
    smsru.balance = Decimal(0)
    services.request_code("79244500003")
    return three


def test_report_per_provider(traffic):
    rows = {r.name: r for r in stats.report("1d").providers}

    assert list(rows) == ["telefon-ip", "sms.ru", "ucaller"]  # the configured order
    telefonip, smsru, ucaller = rows.values()
    assert (telefonip.placed, telefonip.failures, telefonip.failed_over) == (0, 3, 3)
    assert (smsru.placed, smsru.verified, smsru.conversion) == (2, 1, 0.5)
    assert (smsru.failures, smsru.failed_over) == (1, 1)  # no money on the third request
    assert smsru.spend == Decimal("0.8000") and smsru.priced == 2
    assert (ucaller.placed, ucaller.failures, ucaller.conversion) == (1, 0, 0.0)
    assert ucaller.spend == 0  # uCaller's price comes later, from getInfo


def test_flashcall_stats_per_provider(traffic):
    out, _ = run("flashcall_stats")
    assert "per provider" in out
    line = next(line for line in out.splitlines() if line.strip().startswith("sms.ru"))
    assert line.split()[:5] == ["sms.ru", "2", "placed", "1", "verified"]
    assert "50.0%" in line and "0.8000" in line

    data = json.loads(run("flashcall_stats", "--json")[0])
    by_name = {p["name"]: p for p in data["providers"]}
    assert by_name["telefon-ip"]["failed_over"] == 3
    assert by_name["sms.ru"]["conversion"] == 0.5


def test_monitor_page_per_provider_and_every_balance(traffic, admin_client):
    telefonip, smsru, ucaller = traffic
    response = admin_client.get(MONITOR + "?refresh=1")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="flashcall-providers"' in page
    rows = {row.name: (row, pct) for row, pct in response.context["provider_rows"]}
    assert rows["sms.ru"][1] == 50.0
    names = [name for name, _ in response.context["balances"]]
    assert names == ["telefon-ip", "sms.ru", "ucaller"]
    balances = dict(response.context["balances"])
    assert balances["telefon-ip"].error  # refused: unavailable, not a 500
    assert balances["sms.ru"].balance == Decimal(0)
    assert balances["ucaller"].balance == ucaller.balance
    assert ucaller.requests_for("getBalance")


def test_flashcall_balance_asks_every_provider(three):
    telefonip, smsru, ucaller = three
    out, _ = run("flashcall_balance")
    assert "telefon-ip:\nbalance:       5.0" in out
    assert "sms.ru:\nbalance:       100.0" in out
    assert "ucaller:\nbalance:       100.0" in out
    for secret in (telefonip.token, smsru.api_id, ucaller.secret_key):
        assert secret not in out


def test_flashcall_balance_fails_when_one_provider_cannot_tell(three):
    three[2].set_fault("server_error")
    three[2].fault_actions = frozenset({"getBalance"})
    with pytest.raises(CommandError, match="ucaller: the provider answered HTTP 502"):
        run("flashcall_balance")


def test_sync_status_asks_each_call_its_own_provider(three, clock, settings):
    telefonip, smsru, ucaller = three
    services.request_code("79244500001")  # telefon-ip
    settings.FLASHCALL_API_URL = refused_url()
    services.request_code("79244500002")  # sms.ru: no status action
    smsru.set_fault("refuse")
    uc = services.request_code("79244500003")  # uCaller
    ucaller.set_status(uc.provider_id, False)
    clock.advance(120)

    due = list(due_for_sync(24, 60))
    assert {a.provider for a in due} == {"telefon-ip", "ucaller"}  # sms.ru's never come up
    settings.FLASHCALL_API_URL = telefonip.url
    out, _ = run("flashcall_sync_status")

    assert "Checked 2 attempts: 1 delivered, 1 not delivered" in out
    rows = {a.provider: a for a in CallAttempt.objects.all()}
    assert rows["ucaller"].delivery_status is False
    assert rows["ucaller"].price == Decimal("0.3000")
    assert rows["telefon-ip"].delivery_status is True
    assert rows["sms.ru"].delivery_status is None and rows["sms.ru"].price == Decimal("0.4")
    assert ucaller.requests_for("getInfo")[0].params == {"uid": uc.provider_id}
    assert rows["ucaller"].created_at < now()
