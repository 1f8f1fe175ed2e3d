"""flashcall_balance, flashcall_sync_status and flashcall_stats where a
provider lacks an action, an option is out of range or a row is odd."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from django_flashcall.models import CallAttempt, Status

pytestmark = pytest.mark.django_db

SANDBOX = "django_flashcall.providers.SandboxProvider"


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_balance_of_a_lone_provider_without_one_is_an_error(settings):
    settings.FLASHCALL_PROVIDERS = [SANDBOX]
    with pytest.raises(CommandError) as info:
        run("flashcall_balance")
    assert str(info.value) == (
        "Balance unavailable: the configured provider does not report a balance."
    )


def test_balance_skips_the_providers_without_one(fake_smsru, settings):
    settings.FLASHCALL_PROVIDERS = [SANDBOX, fake_smsru.provider_entry()]
    out, err = run("flashcall_balance")
    assert out.splitlines() == [
        "sandbox: does not report a balance",
        "sms.ru:",
        "balance:       100.0",
    ]
    assert err == ""


def test_balance_when_no_provider_has_one(settings):
    settings.FLASHCALL_PROVIDERS = [SANDBOX, {"BACKEND": SANDBOX, "NAME": "demo"}]
    with pytest.raises(CommandError) as info:
        run("flashcall_balance")
    assert str(info.value) == "Balance unavailable: no provider reports a balance."


@pytest.mark.parametrize("limit", ["0", "-5"])
def test_sync_status_limit_must_be_positive(limit):
    with pytest.raises(CommandError, match="--limit must be at least 1"):
        run("flashcall_sync_status", "--limit", limit)


def test_sync_status_without_a_status_action_is_an_error(fake_smsru):
    CallAttempt.objects.create(phone="79244501003", status=Status.PENDING, provider_id="1-2")
    with pytest.raises(CommandError, match="does not report delivery status"):
        run("flashcall_sync_status", "--min-age", "0")


def test_stats_names_an_empty_or_unknown_reason_as_it_is():
    CallAttempt.objects.create(phone="79244501003", status=Status.FAILED, reason="")
    CallAttempt.objects.create(phone="79244501004", status=Status.FAILED, reason="gone_reason")
    out, _ = run("flashcall_stats")
    lines = [line.strip() for line in out.splitlines()]
    assert any(line.startswith("(none)") and line.endswith("1") for line in lines)
    assert any(line.startswith("gone_reason") and line.endswith("1") for line in lines)
