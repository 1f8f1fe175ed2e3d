"""The phone field the adapter gives allauth's forms: every spelling SPEC §6
accepts, E.164 out, the site's ``clean_phone`` hook, an optional phone left
blank."""

from __future__ import annotations

import pytest

pytest.importorskip("allauth")

from django import forms  # noqa: E402

from django_flashcall.contrib.allauth.fields import FlashCallPhoneField  # noqa: E402
from tests.contrib.allauth_adapter import AccountAdapter  # noqa: E402


class BlockedRangeAdapter(AccountAdapter):
    def clean_phone(self, phone: str) -> str:
        if phone.startswith("+7900"):
            raise forms.ValidationError("This range is blocked.", code="blocked")
        return phone


@pytest.fixture
def site_hook(settings):
    settings.ACCOUNT_ADAPTER = f"{__name__}.BlockedRangeAdapter"


def test_russian_spellings_come_out_as_e164():
    field = FlashCallPhoneField()
    assert field.clean("8 (924) 450-10-03") == "+79244501003"
    with pytest.raises(forms.ValidationError) as error:
        field.clean("+1 415 555 0100")
    assert error.value.code == "invalid_phone"


def test_the_sites_clean_phone_hook_sees_the_e164_phone(site_hook):
    field = FlashCallPhoneField()
    assert field.clean("8 924 450 10 03") == "+79244501003"
    with pytest.raises(forms.ValidationError) as error:
        field.clean("+7 (900) 123-45-67")
    assert error.value.code == "blocked"


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_an_optional_phone_left_blank_is_blank(blank, site_hook):
    # allauth's signup with ACCOUNT_SIGNUP_FIELDS = ["phone"] (not "phone*").
    assert FlashCallPhoneField(required=False).clean(blank) == ""
    with pytest.raises(forms.ValidationError) as error:
        FlashCallPhoneField().clean(blank)
    assert error.value.code == "required"
