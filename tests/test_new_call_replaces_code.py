"""A placed call makes its code the phone's only live one: the phone's older
pending codes expire. Not another phone's, not a newer call's that was
placed while this one was in flight; and the providers that failed before
the one that placed it are kept, cut to their column."""

from __future__ import annotations

import pytest

from django_flashcall.models import Status
from django_flashcall.services import request_code
from tests.helpers import PHONE, phone, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_cooldown(settings):
    settings.FLASHCALL_RESEND_COOLDOWN = 0


def test_a_new_call_expires_the_phones_older_code_only(outbox, no_cooldown, clock):
    other = request_code(phone(1))
    first = request_code(PHONE)
    clock.advance(1)
    second = request_code(PHONE)
    assert (row(first).status, row(second).status) == (Status.EXPIRED, Status.PENDING)
    assert row(other).status == Status.PENDING


def test_a_call_placed_last_leaves_a_newer_calls_code_live(scripted, no_cooldown, clock):
    newer = []

    def meanwhile():  # while the first call rings, a second request gets through
        clock.advance(1)
        newer.append(request_code(PHONE))

    first = request_code(PHONE)  # a live code: the next calls have one to replace
    clock.advance(1)
    scripted.during_call = meanwhile
    older = request_code(PHONE)
    assert row(first).status == Status.EXPIRED
    assert (row(older).status, row(newer[0]).status) == (Status.PENDING, Status.PENDING)


def test_a_placed_call_keeps_who_failed_before_it_cut_to_the_column(settings, outbox):
    names = [f"provider-number-{i}-{'x' * 12}" for i in range(4)]  # 30 characters each
    settings.FLASHCALL_PROVIDERS = [
        *({"BACKEND": "tests.test_failed_request_row.Refusing", "NAME": n} for n in names),
        {"BACKEND": "django_flashcall.providers.SandboxProvider", "NAME": "sandbox"},
    ]
    attempt = request_code(PHONE)
    assert (attempt.status, attempt.provider) == (Status.PENDING, "sandbox")
    assert row(attempt).failed_before == ",".join(names)[:100]
    assert len(row(attempt).failed_before) == 100
