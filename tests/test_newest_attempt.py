"""Confirm by phone locks the phone's newest confirmable attempt: the latest
``created_at``, whatever the order the rows were written in."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from django_flashcall.internal.codes import hash_code
from django_flashcall.models import CallAttempt, Status
from django_flashcall.services import confirm_code

pytestmark = pytest.mark.django_db

PHONE = "79244501003"


def pending(created, code: str) -> CallAttempt:
    public_id = uuid.uuid4()
    return CallAttempt.objects.create(
        public_id=public_id,
        phone=PHONE,
        status=Status.PENDING,
        code_hash=hash_code(public_id, code),
        created_at=created,
        expires_at=created + timedelta(minutes=5),
    )


def test_newest_is_by_time_before_by_row():
    now = timezone.now()
    later = pending(now, "2222")
    earlier = pending(now - timedelta(seconds=1), "1111")  # written after, made before
    assert earlier.pk > later.pk
    assert confirm_code(PHONE, "2222").pk == later.pk
