"""Request shapes (SPEC §4). Strict: a field of the wrong JSON type, or an
unknown field, is ``invalid_request``; the rules live in ``services``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from ..exceptions import InvalidRequest

MAX_FIELD = 256  # no UUID is longer


class StrictString(serializers.CharField):
    """A JSON string, and nothing DRF would coerce into one (numbers, bools).

    ``max_length=None`` for the phone and the code: whatever their length,
    the services answer ``invalid_phone`` / ``invalid_code`` (SPEC §6), and
    the body limit bounds them anyway.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", MAX_FIELD)
        super().__init__(trim_whitespace=False, **kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        return self.to_internal_value(data)

    def to_internal_value(self, data: Any) -> str:
        return self.check(self.field_name, data)

    def check(self, name: str | None, data: Any) -> str:
        if not isinstance(data, str):
            raise InvalidRequest(_("“%(field)s” must be a string.") % {"field": name})
        if self.max_length is not None and len(data) > self.max_length:
            raise InvalidRequest(_("“%(field)s” is too long.") % {"field": name})
        return data


class StrictBoolean(serializers.BooleanField):
    def run_validation(self, data: Any = serializers.empty) -> Any:
        return self.to_internal_value(data)

    def to_internal_value(self, data: Any) -> bool:
        return self.check(self.field_name, data)

    def check(self, name: str | None, data: Any) -> bool:
        if not isinstance(data, bool):
            raise InvalidRequest(_("“%(field)s” must be true or false.") % {"field": name})
        return data


class StrictSerializer(serializers.Serializer):
    @classmethod
    def check(cls, data: Any) -> dict[str, Any]:
        """``is_valid(raise_exception=True)`` then ``validated_data``: the
        same checks on the class's declared fields. (A serializer instance
        deep-copies all its fields first, which on every request cost more
        than the checks themselves.)"""
        fields: dict[str, Any] = cls._declared_fields
        # DRF's own answers for null and the like, and DRF's own fields.
        if not isinstance(data, dict) or not all(hasattr(f, "check") for f in fields.values()):
            serializer = cls(data=data)
            serializer.is_valid(raise_exception=True)
            return serializer.validated_data
        cls.check_shape(data, fields)
        return cls.check_together({name: fields[name].check(name, data[name]) for name in data})

    @staticmethod
    def check_shape(data: dict[str, Any], fields: Any) -> None:
        unknown = sorted(set(data) - set(fields))
        if unknown:
            # Escaped: a lone surrogate in a name could not be encoded as UTF-8.
            names = ", ".join(str(n).encode("ascii", "backslashreplace").decode() for n in unknown)
            raise InvalidRequest(_("Unknown field: %(fields)s.") % {"fields": names[:100]})
        for name, field in fields.items():
            if field.required and name not in data:
                raise InvalidRequest(_("“%(field)s” is required.") % {"field": name})
            if name in data and data[name] is None:
                raise InvalidRequest(_("“%(field)s” must not be null.") % {"field": name})

    @classmethod
    def check_together(cls, attrs: dict[str, Any]) -> dict[str, Any]:
        """Rules across fields (``validate``), for :meth:`check` too."""
        return attrs

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InvalidRequest(_("The request body must be a JSON object."))
        self.check_shape(data, self.fields)
        return {name: self.fields[name].run_validation(data[name]) for name in data}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return self.check_together(attrs)


class RequestCodeSerializer(StrictSerializer):
    phone = StrictString(max_length=None, help_text="Russian mobile number in any common spelling.")
    sms_fallback = StrictBoolean(
        required=False, help_text="Send the code by SMS if the call cannot be delivered."
    )
    challenge = StrictString(
        required=False,
        help_text="The answer to FLASHCALL_CHALLENGE (e.g. a CAPTCHA token), "
        "needed only after a challenge_required answer.",
    )


class AttemptIdField(StrictString):
    """A UUID in the schema; a strict string here: the services parse it,
    and anything but a UUID (whatever its length) is ``invalid_request``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=None, **kwargs)


class ConfirmCodeSerializer(StrictSerializer):
    phone = StrictString(required=False, max_length=None, help_text="The phone the call went to.")
    attempt_id = AttemptIdField(required=False, help_text="The attempt_id from request/.")
    code = StrictString(max_length=None, help_text="The last 4 digits of the calling number.")

    @classmethod
    def check_together(cls, attrs: dict[str, Any]) -> dict[str, Any]:
        if "phone" not in attrs and "attempt_id" not in attrs:
            raise InvalidRequest(_("Send “phone” or “attempt_id”."))
        return attrs


class RequestCodeResponseSerializer(serializers.Serializer):
    attempt_id = serializers.UUIDField()
    phone = serializers.CharField()
    channel = serializers.CharField()
    code_length = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    resend_after = serializers.IntegerField()


class ConfirmCodeResponseSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    phone = serializers.CharField()
    user_id = serializers.IntegerField(allow_null=True)
    token = serializers.CharField(required=False, help_text="In FLASHCALL_LOGIN = 'token' mode.")


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    attempts_left = serializers.IntegerField(required=False)
    retry_after = serializers.IntegerField(required=False)
    challenge = serializers.CharField(
        required=False, help_text="challenge_required: the question, if the challenge has one."
    )
