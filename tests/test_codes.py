"""``internal/codes.py``: what counts as a code, and which attempt a confirm aims at."""

from __future__ import annotations

import uuid

import pytest

from django_flashcall.exceptions import InvalidPhone, InvalidRequest
from django_flashcall.internal.codes import locate, parse_code

ID = "12345678-1234-5678-1234-567812345678"


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("1234", "1234"),
        (" 0007\t", "0007"),
        (" " * 30 + "1234" + " " * 30, "1234"),  # 64 characters: still read
        (" " * 30 + "1234" + " " * 31, None),  # 65: refused unread
        ("123", None),
        ("12345", None),
        ("12 34", None),
        ("１２３４", None),  # fullwidth digits are not ASCII
        ("١٢٣٤", None),  # nor Arabic-Indic ones
        (1234, None),
        (None, None),
        (["1234"], None),
    ],
)
def test_parse_code(value, code):
    assert parse_code(value) == code


def test_locate_by_phone_by_id_or_both():
    assert locate("+7 924 450-10-03", None) == {"phone": "79244501003"}
    assert locate(None, ID) == {"public_id": uuid.UUID(ID)}
    assert locate(None, f"  {ID.replace('-', '')} ") == {"public_id": uuid.UUID(ID)}
    assert locate("89244501003", ID) == {"public_id": uuid.UUID(ID), "phone": "79244501003"}


@pytest.mark.parametrize("attempt_id", ["nope", ID + "0", 42, "１" * 32])
def test_locate_refuses_what_is_not_a_uuid(attempt_id):
    with pytest.raises(InvalidRequest) as info:
        locate(None, attempt_id)
    assert info.value.reason == "attempt_id"


def test_locate_needs_a_phone_or_an_id():
    with pytest.raises(InvalidRequest) as info:
        locate(None, None)
    assert info.value.reason == "missing phone"
    with pytest.raises(InvalidPhone):
        locate("not a phone", None)
