"""allauth's phone form field, taking every spelling SPEC §6 accepts.

allauth's own ``PhoneField`` wants E.164 (``+79244501003``) and refuses
``8 924 450-10-03``, the way most Russian users write their number. This
field accepts what :func:`django_flashcall.phone.normalize` accepts and
hands allauth the E.164 spelling, which is what allauth shows and keeps in
its state; the adapter stores the app's own form (``79244501003``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ...exceptions import InvalidPhone
from ...phone import MAX_INPUT_LENGTH, normalize


def to_e164(stored: str) -> str:
    """``79244501003`` → ``+79244501003``."""
    return "+" + stored


class FlashCallPhoneField(forms.CharField):
    default_error_messages = {"invalid_phone": InvalidPhone.default_detail}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            forms.TextInput(
                attrs={
                    "placeholder": "+7 912 345-67-89",
                    "autocomplete": "tel",
                    "type": "tel",
                    "inputmode": "tel",
                }
            ),
        )
        kwargs.setdefault("label", _("Phone number"))
        kwargs.setdefault("max_length", MAX_INPUT_LENGTH)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if text in self.empty_values:
            return ""
        try:
            return to_e164(normalize(text))
        except InvalidPhone:
            raise forms.ValidationError(
                self.error_messages["invalid_phone"], code="invalid_phone"
            ) from None

    def clean(self, value: Any) -> str:
        phone = super().clean(value)
        if phone:
            # The site's own hook, as allauth's PhoneField calls it.
            from allauth.account.adapter import get_adapter

            phone = get_adapter().clean_phone(phone)
        return phone
