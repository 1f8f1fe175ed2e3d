"""The two forms of the HTML login: a phone, then the code.

They check the spelling (a Russian mobile number, 4 digits) with the same
pure functions ``services`` uses, so a typo is answered before the request
counts against the client's IP rate. Everything else (limits, whether the
code is right) is decided by ``services``, and its errors are added to these
forms by the views.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from .conf import flashcall_settings
from .exceptions import ChallengeRequired, InvalidPhone
from .internal.codes import parse_code
from .phone import normalize


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
            # The field's error replaces its hint (_field.html): the two
            # would mostly say the same thing twice.
            if field.help_text and not self.errors.get(name):
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
    # FLASHCALL_CHALLENGE's answer (SPEC §10): shown only once the app asks
    # for it (ask_challenge); the _challenge.html template draws it, and a
    # site overrides that template to draw its CAPTCHA widget instead.
    challenge = forms.CharField(
        label=_("Answer the check"),
        required=False,
        max_length=4096,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not flashcall_settings.SMS_FALLBACK:
            del self.fields["sms_fallback"]
        self.challenge_asked = False

    def ask_challenge(self, error: ChallengeRequired) -> None:
        """Show the challenge field, labelled with its question if it has one,
        and empty: an answer that did not pass is not shown back."""
        self.challenge_asked = True
        field = self.fields["challenge"]
        field.label = str(error.extra.get("challenge") or field.label)
        self["challenge"].label = field.label  # the bound field was made at validation
        field.widget.attrs["autofocus"] = True
        self.fields[next(iter(self.fields))].widget.attrs.pop("autofocus", None)
        # Only a posted form is asked (an unbound one has no data to clear).
        data = QueryDict(mutable=True)
        data.update(self.data)
        data[self.add_prefix("challenge")] = ""
        self.data = data

    def challenge_answer(self) -> str | None:
        return (self.cleaned_data.get("challenge") or None) if self.is_bound else None

    def clean_phone(self) -> str:
        """The stored form, ``79XXXXXXXXX``."""
        try:
            return normalize(self.cleaned_data["phone"])
        except InvalidPhone as error:
            raise forms.ValidationError(str(error.detail), code=error.code) from None

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
        # No "pattern" attribute either: the browser would answer with its own
        # "Please match the requested format."; clean_code says what is meant.
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "maxlength": "4",
                "size": "4",
                "autofocus": True,
                "data-autosubmit": "4",
                "class": "fc-code",
            }
        ),
    )

    def clean_code(self) -> str:
        # The spelling rule of services.parse_code (SPEC §6), said in words;
        # a code that cannot be one costs no check and no IP budget.
        code = parse_code(self.cleaned_data["code"])
        if code is None:
            raise forms.ValidationError(
                _("Type the 4 digits: the last 4 digits of the calling number."),
                code="invalid_code",
            )
        return code
