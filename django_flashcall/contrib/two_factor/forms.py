"""The forms of the ``flashcall`` method: the phone, then the 4-digit code.

two-factor's own code forms want ``totp_digits()`` digits (6) or an integer,
which drops a code's leading zeros: a flash call's code is 4 characters,
``0042`` included.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from two_factor.forms import AuthenticationTokenForm

from ...exceptions import InvalidPhone, NoActiveAttempt
from ...phone import MAX_INPUT_LENGTH, normalize

CODE_ATTRS = {
    "autofocus": "autofocus",
    "inputmode": "numeric",
    "pattern": "[0-9]{4}",
    "autocomplete": "one-time-code",
}


class FlashCallPhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Phone number"),
        max_length=MAX_INPUT_LENGTH,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
        help_text=_("You do not need to answer the call."),
    )

    def clean_phone(self) -> str:
        try:
            return normalize(self.cleaned_data["phone"])
        except InvalidPhone as error:
            raise forms.ValidationError(str(error.detail), code="invalid_phone") from None


class FlashCallValidationForm(forms.Form):
    """The setup's last step: the code of the call placed to the new phone."""

    token = forms.RegexField(
        label=_("Last 4 digits of the calling number"),
        regex=r"^\s*[0-9]{4}\s*$",
        max_length=8,
        widget=forms.TextInput(attrs=CODE_ATTRS),
    )
    # Checked once: two-factor's wizard must not re-validate a used code.
    idempotent = False

    def __init__(self, device: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = self.cleaned_data["token"].strip()
        if self.device.attempt_id is None:
            # No call waits on this device: it was refused (a limit), or a
            # hand-made POST skipped the phone step and there is no phone.
            raise forms.ValidationError(
                str(NoActiveAttempt.default_detail), code="no_active_attempt"
            )
        allowed, info = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(
                (info or {}).get("error_message")
                or _("Too many wrong codes. Request a new call later.")
            )
        if not self.device.verify_token(token):
            raise forms.ValidationError(_("The code is wrong."), code="invalid_token")
        return token


class FlashCallTokenForm(AuthenticationTokenForm):
    """two-factor's login token form, taking the 4-digit code."""

    otp_token = forms.RegexField(
        label=_("Last 4 digits of the calling number"),
        regex=r"^\s*[0-9]{4}\s*$",
        max_length=8,
        widget=forms.TextInput(attrs=CODE_ATTRS),
    )

    def clean_otp_token(self) -> str:
        return self.cleaned_data["otp_token"].strip()
