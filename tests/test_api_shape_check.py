"""``StrictSerializer.check`` (the views' fast path) answers as the DRF serializer does."""

from __future__ import annotations

import pytest
from rest_framework import serializers

from django_flashcall.api.serializers import (
    ConfirmCodeSerializer,
    RequestCodeSerializer,
    StrictSerializer,
)
from django_flashcall.exceptions import InvalidRequest

BODIES = [
    {"phone": "+79244501003"},
    {"phone": "+79244501003", "sms_fallback": False},
    {"phone": 79244501003},
    {"phone": None},
    {},
    {"phone": "1", "extra": 1, "\ud800": 2},
    {"phone": "1", "sms_fallback": "yes"},
    {"code": "1234"},
    {"code": "1234", "attempt_id": "x" * 300},
    {"code": "1234", "attempt_id": "5f0c6b1e-1111-2222-3333-444455556666"},
    {"code": ["1234"], "phone": "1"},
    [],
    "text",
    None,
]


def outcome(action):
    try:
        return ("ok", action())
    except InvalidRequest as error:
        return ("invalid_request", str(error.detail))
    except serializers.ValidationError as error:
        return ("validation_error", str(error.detail))


def drf(cls, data):
    serializer = cls(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@pytest.mark.parametrize("cls", [RequestCodeSerializer, ConfirmCodeSerializer])
@pytest.mark.parametrize("data", BODIES)
def test_check_answers_as_the_serializer(cls, data):
    assert outcome(lambda: cls.check(data)) == outcome(lambda: drf(cls, data))


def test_a_drf_field_falls_back_to_the_serializer():
    class WithPlainField(StrictSerializer):
        note = serializers.CharField()

    assert WithPlainField.check({"note": 5}) == {"note": "5"}  # DRF's own coercion
