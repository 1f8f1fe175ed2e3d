"""Which earlier codes count as "replaced by a newer call" (services/confirm.py):
only those of the same phone's calls that the new call superseded while they
could still be live, the last three of them. Any other wrong code is a plain
wrong code. Each call's code is chosen here, so nothing depends on chance."""

from __future__ import annotations

import pytest

from django_flashcall.exceptions import CodeExpired, InvalidCode
from django_flashcall.models import CallAttempt, Status
from django_flashcall.providers import ProviderResult, SandboxProvider
from django_flashcall.services import confirm_code, request_code
from tests.helpers import PHONE, owners_attempt

pytestmark = pytest.mark.django_db

OTHER = "79244501004"


@pytest.fixture
def codes(outbox, settings, monkeypatch):
    """``codes.append("1111")`` sets the code of the next call."""
    settings.FLASHCALL_RESEND_COOLDOWN = 0
    settings.FLASHCALL_PHONE_DAILY_LIMIT = 10
    queue: list[str] = []
    real_send = SandboxProvider.send

    def send(self, phone, *, sms_fallback=False):
        result = real_send(self, phone, sms_fallback=sms_fallback)
        return ProviderResult(code=queue.pop(0), provider_id=result.provider_id, phone=phone)

    monkeypatch.setattr(SandboxProvider, "send", send)
    return queue


def call(codes: list[str], phone: str, code: str):
    codes.append(code)
    return request_code(phone)


def detail_for(phone: str, code: str) -> str:
    """The detail of a wrong code sent by the owner (with the attempt id)."""
    with pytest.raises(InvalidCode) as info:
        confirm_code(phone, code, attempt_id=owners_attempt(phone))
    return str(info.value.detail)


REPLACED = str(InvalidCode.replaced_detail)
WRONG = str(InvalidCode.default_detail)


def test_another_phones_code_is_just_wrong(codes):
    call(codes, OTHER, "1111")
    call(codes, OTHER, "2222")  # replaces OTHER's 1111
    call(codes, PHONE, "3333")
    call(codes, PHONE, "4444")
    assert detail_for(PHONE, "1111") == WRONG
    assert detail_for(PHONE, "3333") == REPLACED


def test_a_used_code_is_just_wrong(codes):
    call(codes, PHONE, "1111")
    confirm_code(PHONE, "1111")
    call(codes, PHONE, "2222")
    assert detail_for(PHONE, "1111") == WRONG


def test_a_code_that_had_lapsed_before_the_new_call_is_just_wrong(codes, clock):
    call(codes, PHONE, "1111")
    clock.advance(301)  # past FLASHCALL_CODE_TTL
    with pytest.raises(CodeExpired):
        confirm_code(PHONE, "1111")
    call(codes, PHONE, "2222")
    assert detail_for(PHONE, "1111") == WRONG


def test_only_the_last_three_replaced_calls_are_named(codes):
    for code in ("1111", "2222", "3333", "4444", "5555"):
        call(codes, PHONE, code)
    assert detail_for(PHONE, "1111") == WRONG
    assert detail_for(PHONE, "2222") == REPLACED


def test_a_later_calls_code_is_just_wrong(codes):
    # Two calls in flight together, the older one placed last: it stays live
    # while the newer one is expired (here: by hand, as staff would).
    older = call(codes, PHONE, "1111")
    newer = call(codes, PHONE, "2222")
    CallAttempt.objects.filter(pk=older.pk).update(status=Status.PENDING)
    CallAttempt.objects.filter(pk=newer.pk).update(status=Status.EXPIRED)
    with pytest.raises(InvalidCode) as info:
        confirm_code(PHONE, "2222", attempt_id=str(older.public_id))
    assert str(info.value.detail) == WRONG
