"""The flashcall_* management commands, against the fake telefon-ip server."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from django_flashcall import services
from django_flashcall.internal.clock import now
from django_flashcall.models import CallAttempt, Channel, Reason, Status
from tests.helpers import scrub

pytestmark = pytest.mark.django_db

PHONE = "79244501003"


def run(*args, **options):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# -- flashcall_send ---------------------------------------------------------------


def test_send_places_one_call(fake_telefonip):
    out, _ = run("flashcall_send", "+7 (924) 450-10-03")
    attempt = CallAttempt.objects.get()
    call = fake_telefonip.last_call()
    assert len(fake_telefonip.calls) == 1 and call.phone == "89244501003"
    assert str(attempt.public_id) in out
    assert f"provider id: {call.id}" in out
    assert "status:      pending" in out
    assert fake_telefonip.token not in out
    # The code must not be printed; set aside the fields where 4 digits may occur by chance.
    assert call.code not in scrub(out, f"provider id: {call.id}")
    assert fake_telefonip.requests_for("get_code")[0].query == {}


def test_send_sms_fallback(fake_telefonip, settings):
    settings.FLASHCALL_SMS_FALLBACK = True
    run("flashcall_send", PHONE, "--sms")
    assert fake_telefonip.requests_for("get_code")[0].query == {"sms": "true"}
    assert CallAttempt.objects.get().sms_fallback is True


def test_send_sms_needs_the_site_to_opt_in(fake_telefonip):
    with pytest.raises(CommandError, match="FLASHCALL_SMS_FALLBACK"):
        run("flashcall_send", PHONE, "--sms")
    assert fake_telefonip.requests == [] and not CallAttempt.objects.exists()


def test_send_without_sms_opts_out_even_when_the_site_allows_it(fake_telefonip, settings):
    settings.FLASHCALL_SMS_FALLBACK = True
    run("flashcall_send", PHONE)
    assert fake_telefonip.requests_for("get_code")[0].query == {}


def test_send_obeys_the_limits(fake_telefonip):
    run("flashcall_send", PHONE)
    with pytest.raises(CommandError, match="rate_limited.*retry after .*cooldown"):
        run("flashcall_send", "89244501003")
    assert len(fake_telefonip.calls) == 1
    assert CallAttempt.objects.filter(status=Status.REFUSED, reason=Reason.COOLDOWN).count() == 1


def test_send_invalid_phone(fake_telefonip):
    with pytest.raises(CommandError, match="invalid_phone"):
        run("flashcall_send", "+1 555 0100")
    assert fake_telefonip.requests == []


def test_send_provider_failure(fake_telefonip):
    fake_telefonip.set_fault("server_error")
    with pytest.raises(CommandError) as exc:
        run("flashcall_send", PHONE)
    assert "provider_unavailable" in str(exc.value) and "server_error" in str(exc.value)
    assert fake_telefonip.token not in str(exc.value)
    assert CallAttempt.objects.get().status == Status.FAILED


# -- flashcall_sync_status ----------------------------------------------------------


def two_calls(fake):
    a = services.request_code(PHONE)
    b = services.request_code("79244501004")
    fake.set_status(int(b.provider_id), delivered=False)
    return a, b


def test_sync_status_stores_delivery_and_price(fake_telefonip):
    a, b = two_calls(fake_telefonip)
    out, _ = run("flashcall_sync_status", "--min-age", "0")
    assert "Checked 2 attempts: 1 delivered, 1 not delivered" in out
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.delivery_status is True and a.delivery_info == "Ok: SIP 200 OK"
    assert a.price == Decimal("0.2") and a.status_checked_at is not None
    assert b.delivery_status is False and b.delivery_info == "SIP 486 Busy Here"
    assert len(fake_telefonip.requests_for("get_status")) == 2

    out, _ = run("flashcall_sync_status", "--min-age", "0")  # nothing left to ask
    assert "Checked 0 attempts" in out
    assert len(fake_telefonip.requests_for("get_status")) == 2


def test_sync_status_parses_bools_and_string_prices(fake_telefonip):
    fake_telefonip.status_as_bool = True
    fake_telefonip.price_as_string = True
    a, b = two_calls(fake_telefonip)
    run("flashcall_sync_status", "--min-age", "0")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.delivery_status, a.price, b.delivery_status) == (True, Decimal("0.2"), False)


def test_sync_status_skips_young_old_and_done_attempts(fake_telefonip):
    fresh = services.request_code(PHONE)  # younger than the default --min-age of 60 s
    old = CallAttempt.objects.create(
        phone=PHONE, status=Status.EXPIRED, provider_id="1", created_at=now() - timedelta(hours=30)
    )
    CallAttempt.objects.create(
        phone=PHONE,
        status=Status.REFUSED,
        channel=Channel.NONE,
        created_at=now() - timedelta(hours=1),
    )
    out, _ = run("flashcall_sync_status")
    assert "Checked 0 attempts" in out
    assert fake_telefonip.requests_for("get_status") == []
    out, _ = run("flashcall_sync_status", "--min-age", "0", "--since-hours", "48")
    assert "Checked 2 attempts" in out
    fresh.refresh_from_db()
    old.refresh_from_db()
    assert fresh.delivery_status is True and old.delivery_status is True


def test_sync_status_limit(fake_telefonip):
    two_calls(fake_telefonip)
    out, _ = run("flashcall_sync_status", "--min-age", "0", "--limit", "1")
    assert "Checked 1 attempts" in out
    assert CallAttempt.objects.filter(delivery_status__isnull=False).count() == 1


def test_sync_status_unknown_id_is_recorded_and_skipped(fake_telefonip):
    gone = CallAttempt.objects.create(
        phone=PHONE,
        status=Status.EXPIRED,
        provider_id="99999",
        created_at=now() - timedelta(hours=2),
    )
    real = services.request_code("79244501004")
    out, _ = run("flashcall_sync_status", "--min-age", "0")
    assert "1 delivered" in out and "1 unknown to the provider" in out
    gone.refresh_from_db()
    assert gone.delivery_status is None and "id record not found" in gone.delivery_info
    assert gone.status_checked_at is not None
    real.refresh_from_db()
    assert real.delivery_status is True
    # Next run: the never-checked go first, the unknown one is asked again last.
    out, _ = run("flashcall_sync_status", "--min-age", "0", "--limit", "1")
    assert "1 unknown to the provider" in out


def test_sync_status_stops_when_the_provider_is_down(fake_telefonip):
    a, b = two_calls(fake_telefonip)
    fake_telefonip.fault_actions = frozenset({"get_status"})
    fake_telefonip.set_fault("server_error")
    with pytest.raises(CommandError) as exc:
        run("flashcall_sync_status", "--min-age", "0")
    assert "provider failed" in str(exc.value) and "HTTP 500" in str(exc.value)
    assert fake_telefonip.token not in str(exc.value)
    assert len(fake_telefonip.requests_for("get_status")) == 1  # no hammering
    assert not CallAttempt.objects.filter(status_checked_at__isnull=False).exists()


def test_sync_status_sandbox(flashcall_outbox):
    services.request_code(PHONE)
    out, _ = run("flashcall_sync_status", "--min-age", "0")
    assert "1 delivered" in out


# -- flashcall_balance ---------------------------------------------------------------


def test_balance_prints_and_warns_when_low(fake_telefonip, settings):
    settings.FLASHCALL_LOW_BALANCE = 10
    out, err = run("flashcall_balance")
    assert "balance:       5.0" in out
    assert "price:         0.2" in out
    assert "balance limit: 0.0" in out
    assert "calls left:    25" in out
    assert "below FLASHCALL_LOW_BALANCE (10)" in err
    assert fake_telefonip.token not in out + err


def test_balance_no_warning_above_the_threshold(fake_telefonip, settings):
    settings.FLASHCALL_LOW_BALANCE = 1
    _, err = run("flashcall_balance")
    assert err == ""


@pytest.mark.parametrize("fault", ["server_error", "malformed", "drop"])
def test_balance_provider_failure_is_exit_1(fake_telefonip, fault):
    fake_telefonip.fault_actions = frozenset({"get_balance"})
    fake_telefonip.set_fault(fault)
    with pytest.raises(CommandError) as exc:
        run("flashcall_balance")
    assert exc.value.returncode == 1
    assert str(exc.value).startswith("Balance unavailable:")
    assert fake_telefonip.token not in str(exc.value)


def test_balance_bad_token(fake_telefonip, settings):
    settings.FLASHCALL_API_TOKEN = "wrong-secret-token"
    with pytest.raises(CommandError, match="401") as exc:
        run("flashcall_balance")
    assert "wrong-secret-token" not in str(exc.value)


def test_balance_exit_status_and_stderr_from_the_shell():
    """The real process: exit status 1 and the reason on stderr (the sandbox has no balance)."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "django", "flashcall_balance"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "does not report a balance" in proc.stderr
    assert proc.stdout == ""


# -- flashcall_cleanup -----------------------------------------------------------------


def ages(*days):
    at = now()
    CallAttempt.objects.bulk_create(
        [
            CallAttempt(phone=PHONE, status=Status.EXPIRED, created_at=at - timedelta(days=d))
            for d in days
        ]
    )


def test_cleanup_dry_run_deletes_nothing(settings):
    settings.FLASHCALL_RETENTION_DAYS = 30
    ages(1, 29, 31, 40, 400)
    out, _ = run("flashcall_cleanup", "--dry-run")
    assert "Would delete 3 attempts" in out
    assert CallAttempt.objects.count() == 5


def test_cleanup_deletes_in_batches(settings):
    settings.FLASHCALL_RETENTION_DAYS = 30
    ages(*([45] * 7), 1, 2, *([31] * 3), 29)
    keep = set(
        CallAttempt.objects.filter(created_at__gte=now() - timedelta(days=30)).values_list(
            "pk", flat=True
        )
    )
    out, _ = run("flashcall_cleanup", "--batch-size", "3", verbosity=2)
    assert "Deleted 10 attempts" in out
    assert "in 4 batches" in out  # old rows at offsets 0-6 and 9-11: windows 0, 3, 6, 9
    assert set(CallAttempt.objects.values_list("pk", flat=True)) == keep


def test_cleanup_days_option_wins_over_the_setting(settings):
    settings.FLASHCALL_RETENTION_DAYS = 30
    ages(1, 5, 10)
    out, _ = run("flashcall_cleanup", "--days", "3")
    assert "Deleted 2 attempts" in out
    assert CallAttempt.objects.count() == 1
    with pytest.raises(CommandError):
        run("flashcall_cleanup", "--batch-size", "0")


def test_cleanup_nothing_to_do():
    out, _ = run("flashcall_cleanup")
    assert "Deleted 0 attempts" in out and "in 0 batches" in out


# -- flashcall_stats ----------------------------------------------------------------------


def seed_stats():
    at = now()
    CallAttempt.objects.create(
        phone=PHONE, status=Status.VERIFIED, price=Decimal("0.2"), created_at=at
    )
    CallAttempt.objects.create(phone=PHONE, status=Status.EXHAUSTED, checks_used=3, created_at=at)
    CallAttempt.objects.create(
        phone=PHONE,
        status=Status.REFUSED,
        reason=Reason.COOLDOWN,
        channel=Channel.NONE,
        ip="192.0.2.9",
    )
    CallAttempt.objects.create(
        phone=PHONE, status=Status.FAILED, reason=Reason.TIMEOUT, created_at=at - timedelta(days=3)
    )


def test_stats_json():
    seed_stats()
    out, _ = run("flashcall_stats", "--json")
    data = json.loads(out)
    assert data["period"] == "1d"
    s = data["summary"]
    assert (s["requests"], s["placed"], s["verified"], s["refused"], s["failed"]) == (3, 2, 1, 1, 0)
    assert s["conversion"] == 0.5
    assert s["spend"] == "0.2000"
    assert s["refused_by_reason"] == {"cooldown": 1}
    assert data["top_phones"] == [{"key": PHONE, "refused": 1, "wrong_codes": 3, "score": 4}]
    assert data["top_ips"][0]["key"] == "192.0.2.9"

    data = json.loads(run("flashcall_stats", "--json", "--period", "7d")[0])
    assert data["summary"]["failed_by_reason"] == {"timeout": 1}
    assert len(data["timeline"]) == 8


def test_stats_text():
    seed_stats()
    out, _ = run("flashcall_stats", "--period", "30d")
    assert "last 30 days" in out
    assert "calls placed              2" in out
    assert "conversion                50.0%" in out
    assert "timeout (provider timeout)" in out
    assert "cooldown (resend cooldown)" in out
    assert f"{PHONE}" in out and "1 refused, 3 wrong codes" in out


def test_stats_rejects_unknown_period():
    with pytest.raises(CommandError):
        run("flashcall_stats", "--period", "1y")


@pytest.mark.parametrize("days", ["0", "-1"])
def test_cleanup_never_deletes_the_rows_that_hold_the_limits(days):
    attempt = CallAttempt.objects.create(phone="79244501003", status="pending")
    with pytest.raises(CommandError, match="at least 1"):
        run("flashcall_cleanup", "--days", days)
    assert CallAttempt.objects.filter(pk=attempt.pk).exists()


def test_cleanup_marks_calls_interrupted_mid_call_as_failed():
    stuck = CallAttempt.objects.create(
        phone="79244501003", status="calling", created_at=now() - timedelta(hours=1)
    )
    in_flight = CallAttempt.objects.create(phone="79244501004", status="calling")
    out, _ = run("flashcall_cleanup")
    assert "Marked 1 interrupted calls as failed." in out
    stuck.refresh_from_db()
    in_flight.refresh_from_db()
    assert (stuck.status, stuck.reason) == ("failed", "timeout")  # still counts: maybe placed
    assert in_flight.status == "calling"


def test_cleanup_marks_lapsed_pending_attempts_expired():
    at = now()
    lapsed = CallAttempt.objects.create(
        phone="79244501003",
        status="pending",
        created_at=at - timedelta(hours=2),
        expires_at=at - timedelta(hours=2) + timedelta(minutes=5),
    )
    live = CallAttempt.objects.create(
        phone="79244501004", status="pending", expires_at=at + timedelta(minutes=4)
    )
    out, _ = run("flashcall_cleanup", "--dry-run")
    assert "Would mark 1 lapsed pending attempts as expired." in out
    lapsed.refresh_from_db()
    assert lapsed.status == "pending"
    out, _ = run("flashcall_cleanup")
    assert "Marked 1 lapsed pending attempts as expired." in out
    lapsed.refresh_from_db()
    live.refresh_from_db()
    assert (lapsed.status, live.status) == ("expired", "pending")


def test_stats_refuses_a_negative_top():
    with pytest.raises(CommandError, match="--top"):
        run("flashcall_stats", "--top", "-1")
