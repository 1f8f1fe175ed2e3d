"""``request_code`` inside the caller's transaction is a mistake in the
site's code, found on the first request in development: the error says what
is wrong and what to do, word for word (tests/test_services.py checks when
it is raised)."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.db.transaction import TransactionManagementError

from django_flashcall.models import CallAttempt
from django_flashcall.services import request_code
from tests.helpers import PHONE

pytestmark = pytest.mark.django_db

MESSAGE = (
    "django_flashcall.services.request_code() must run outside a transaction: "
    "its attempt row reserves the limits for the paid call and must be committed "
    "at once. Decorate the view with @transaction.non_atomic_requests."
)


def test_the_error_names_the_function_the_reason_and_the_fix(outbox):
    with pytest.raises(TransactionManagementError) as info:
        with transaction.atomic():
            request_code(PHONE)
    assert str(info.value) == MESSAGE
    assert outbox == [] and not CallAttempt.objects.exists()
