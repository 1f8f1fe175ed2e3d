"""The two forms of the HTML login: a phone, then the code.

Shape only: whether a phone or a code is acceptable is decided by
``services`` (the same rules as the JSON API), and its errors are added to
these forms by the views.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .conf import flashcall_settings


class AccessibleForm(forms.Form):
    """Points every input at its help text and errors (``aria-describedby``).

    Django 5 does part of this itself; doing it here gives the same markup on
    every supported Django, and also covers errors added after validation.
    """

    non_field_errors_id = "fc-errors"

    def mark_errors(self) -> None:
        has_form_errors = bool(self.non_field_errors())
        for name, field in self.fields.items():
            bound = self[name]
            ids = []
            if field.help_text:
                ids.append(f"{bound.auto_id}_helptext")
            if self.errors.get(name):
                ids.append(f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            if has_form_errors:
                ids.append(self.non_field_errors_id)
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)


class PhoneForm(AccessibleForm):
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=64,
        help_text=_("A Russian mobile number, for example +7 912 345-67-89."),
        widget=forms.TextInput(
            attrs={
                "type": "tel",
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": "+7 912 345-67-89",
                "autofocus": True,
            }
        ),
    )
    sms_fallback = forms.BooleanField(
        label=_("If the call does not get through, send the code by SMS"),
        required=False,
        initial=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not flashcall_settings.SMS_FALLBACK:
            del self.fields["sms_fallback"]

    def sms_choice(self) -> bool | None:
        """The user's SMS-fallback choice; None (the setting) when not offered."""
        if "sms_fallback" not in self.fields:
            return None
        return bool(self.cleaned_data.get("sms_fallback"))


class ResendForm(PhoneForm):
    """The "call me again" form: no phone field (the pending phone is in the session)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "resend")
        super().__init__(*args, **kwargs)
        del self.fields["phone"]


class CodeForm(AccessibleForm):
    code = forms.CharField(
        label=_("Last 4 digits of the calling number"),
        # No max_length: Django would overwrite the widget's maxlength="4".
        help_text=_("You do not need to answer the call."),
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "pattern": "[0-9]{4}",
                "maxlength": "4",
                "size": "4",
                "autofocus": True,
                "data-autosubmit": "4",
                "class": "fc-code",
            }
        ),
    )
