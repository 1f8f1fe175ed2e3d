"""Whom the delivery status is asked of (monitoring/delivery.py, the admin's
"fetch delivery status" action): only attempts a provider placed, only
providers still configured and able to answer, and answers that say
neither delivered nor not."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from django_flashcall import admin as flashcall_admin
from django_flashcall import services
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.monitoring.delivery import sync_attempts

pytestmark = pytest.mark.django_db

PHONE = "79244501003"
CHANGELIST = "/admin/django_flashcall/callattempt/"


def run_action(client, action, attempts):
    response = client.post(
        CHANGELIST, {"action": action, "_selected_action": [a.pk for a in attempts]}, follow=True
    )
    assert response.status_code == 200
    return response.content.decode()


def test_an_attempt_no_provider_placed_is_not_asked_about(fake_telefonip):
    placed = services.request_code(PHONE)
    refused = CallAttempt.objects.create(phone=PHONE, status=Status.REFUSED, reason=Reason.COOLDOWN)
    result = sync_attempts([refused, placed])
    assert (result.checked, result.delivered, result.checked_ids) == (1, 1, [placed.pk])
    assert len(fake_telefonip.requests_for("get_status")) == 1
    refused.refresh_from_db()
    assert refused.status_checked_at is None and refused.delivery_status is None


def test_a_provider_no_longer_configured_is_not_asked(admin_client, fake_telefonip):
    # Placed by a provider the site has since removed from FLASHCALL_PROVIDERS.
    retired = CallAttempt.objects.create(
        phone=PHONE, status=Status.VERIFIED, provider="retired", provider_id="4242"
    )
    page = run_action(admin_client, "fetch_delivery_status", [retired])
    assert "Checked 0: 0 delivered, 0 not delivered." in page
    assert fake_telefonip.requests_for("get_status") == []
    retired.refresh_from_db()
    assert retired.status_checked_at is None
    assert not LogEntry.objects.exists()


def test_a_provider_without_status_says_so_in_the_admin(admin_client, fake_smsru):
    # sms.ru gives the price with the call and has no status to ask for.
    attempt = services.request_code(PHONE)
    assert attempt.provider_id
    page = run_action(admin_client, "fetch_delivery_status", [attempt])
    assert "This provider does not report delivery status." in page
    attempt.refresh_from_db()
    assert attempt.status_checked_at is None
    assert not LogEntry.objects.exists()


def test_a_call_still_being_checked_is_counted_unknown(fake_ucaller):
    attempt = services.request_code(PHONE)
    fake_ucaller.set_status(attempt.provider_id, None)  # uCaller's call_status -1
    result = sync_attempts([attempt])
    assert (result.checked, result.delivered, result.undelivered, result.unknown) == (1, 0, 0, 1)
    attempt.refresh_from_db()
    assert attempt.delivery_status is None
    assert attempt.delivery_info == "checking" and attempt.status_checked_at is not None


def test_unlock_refuses_more_phones_than_one_action_may_touch(admin_client, monkeypatch):
    monkeypatch.setattr(flashcall_admin.attempts, "ACTION_LIMIT", 2)
    rows = [
        CallAttempt.objects.create(phone=f"7924450100{i}", status=Status.EXHAUSTED, checks_used=3)
        for i in range(3)
    ]
    page = run_action(admin_client, "unlock_phones", rows)
    assert "Select attempts of at most 2 phones." in page
    assert not CallAttempt.objects.filter(status=Status.UNLOCKED).exists()
    assert not LogEntry.objects.exists()
    # Two phones are within the limit.
    assert "2 phones unlocked" in run_action(admin_client, "unlock_phones", rows[:2])
    assert CallAttempt.objects.filter(status=Status.UNLOCKED).count() == 2
