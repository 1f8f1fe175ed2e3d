"""FLASHCALL_TEST_NUMBERS that check E007 would report at start (not a
dict, a code that is not 4 digits) make no test number at run time: the
phone gets a real call, and no request turns into a 500."""

from __future__ import annotations

import pytest

from django_flashcall.models import Channel, Status
from django_flashcall.services import request_code
from tests.helpers import PHONE

pytestmark = pytest.mark.django_db

NUMBER = "79000000000"


@pytest.mark.parametrize("numbers", [[NUMBER], {NUMBER: "12345"}, {NUMBER: "12a4"}, {NUMBER: 1234}])
def test_a_malformed_entry_is_no_test_number(settings, outbox, numbers):
    settings.FLASHCALL_TEST_NUMBERS = numbers
    attempt = request_code(NUMBER)
    assert (attempt.status, attempt.channel) == (Status.PENDING, Channel.CALL)
    assert [call.phone for call in outbox] == [NUMBER]
    assert request_code(PHONE).status == Status.PENDING
