"""What a request that no provider placed leaves: its row keeps the last
provider's message and the providers that failed before it, each cut to its
column; the error raised is ``InvalidPhone`` (reason ``rejected``) when the
provider refused the phone's format, else ``ProviderUnavailable`` with the
failure's reason. Receivers of ``code_failed`` get that error."""

from __future__ import annotations

import pytest

from django_flashcall import signals
from django_flashcall.exceptions import InvalidPhone, ProviderUnavailable
from django_flashcall.models import CallAttempt, Reason, Status
from django_flashcall.providers import BaseProvider, InvalidPhoneForProvider, ProviderError
from django_flashcall.services import request_code
from tests.helpers import PHONE

pytestmark = pytest.mark.django_db

LONG = "the provider says: " + "no " * 150  # longer than the 255 of the column


class Refusing(BaseProvider):
    """Refuses the connection (no call placed, so the next one is asked)."""

    def send(self, phone: str, *, sms_fallback: bool = False):
        raise ProviderError(Reason.CONNECTION, LONG)


class FormatRefusing(BaseProvider):
    """Refuses the phone's format (its 400)."""

    def send(self, phone: str, *, sms_fallback: bool = False):
        raise InvalidPhoneForProvider(LONG)


def entry(cls: type, name: str) -> dict:
    return {"BACKEND": f"tests.test_failed_request_row.{cls.__name__}", "NAME": name}


@pytest.fixture
def failed_errors():
    errors = []

    def receiver(sender, error, **kwargs):
        errors.append(error)

    signals.code_failed.connect(receiver)
    yield errors
    signals.code_failed.disconnect(receiver)


def test_the_row_keeps_the_message_and_who_failed_before_cut_to_their_columns(
    settings, failed_errors
):
    names = [f"provider-number-{i}-{'x' * 12}" for i in range(5)]  # 30 characters each
    settings.FLASHCALL_PROVIDERS = [entry(Refusing, name) for name in names]
    with pytest.raises(ProviderUnavailable) as info:
        request_code(PHONE)
    assert info.value.reason == Reason.CONNECTION
    assert failed_errors == [info.value]
    row = CallAttempt.objects.get()
    assert (row.status, row.reason, row.provider) == (Status.FAILED, Reason.CONNECTION, names[-1])
    assert row.error == LONG[:255] and len(row.error) == 255
    assert row.failed_before == ",".join(names[:-1])[:100] and len(row.failed_before) == 100


def test_a_format_refusal_raises_invalid_phone_with_the_reason_rejected(settings, failed_errors):
    settings.FLASHCALL_PROVIDERS = [entry(FormatRefusing, "strict")]
    with pytest.raises(InvalidPhone) as info:
        request_code(PHONE)
    assert info.value.reason == Reason.REJECTED
    assert failed_errors == [info.value]
    row = CallAttempt.objects.get()
    assert (row.status, row.reason, row.provider, row.failed_before) == (
        Status.FAILED,
        Reason.REJECTED,
        "strict",
        "",
    )
