"""The ``flashcall`` method of django-two-factor-auth's registry."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from two_factor.plugins.registry import MethodBase

from ...phone import mask, normalize
from ..otp.models import FlashCallDevice
from .forms import FlashCallPhoneForm, FlashCallTokenForm, FlashCallValidationForm

PHONE_STEP = "flashcall"
# Not two-factor's "validation" step: that one gets two-factor's integer
# form whenever its SMS or call method is also installed.
CODE_STEP = "flashcall_code"


class FlashCallMethod(MethodBase):
    code = "flashcall"
    verbose_name = _("Flash call")

    def get_devices(self, user: Any) -> Any:
        return FlashCallDevice.objects.devices_for_user(user)

    def recognize_device(self, device: Any) -> bool:
        return isinstance(device, FlashCallDevice)

    def get_setup_forms(self, wizard: Any) -> dict[str, type]:
        return {PHONE_STEP: FlashCallPhoneForm, CODE_STEP: FlashCallValidationForm}

    def get_device_from_setup_data(
        self, request: HttpRequest, setup_data: Any, **kwargs: Any
    ) -> FlashCallDevice:
        """The user's unconfirmed device for the phone typed in setup, saved
        (the call it waits on must survive between the wizard's requests)."""
        phone = ((setup_data or {}).get(PHONE_STEP) or {}).get("phone")
        device = FlashCallDevice.objects.filter(user=request.user, confirmed=False).first()
        if phone is None:
            return device or FlashCallDevice(user=request.user, name="default", confirmed=False)
        phone = normalize(phone)
        if device is None:
            device = FlashCallDevice.objects.create(
                user=request.user, name="default", phone=phone, confirmed=False
            )
        elif device.phone != phone:
            device.phone, device.attempt_id = phone, None
            device.save(update_fields=["phone", "attempt_id"])
        return device

    def get_token_form_class(self) -> type:
        return FlashCallTokenForm

    def get_action(self, device: FlashCallDevice) -> str:
        return gettext("Call %s") % mask(normalize(device.phone))

    def get_verbose_action(self, device: FlashCallDevice) -> str:
        # The answer of the challenge placed while this page rendered: the
        # call, or why none was placed (a cooldown, a lock).
        message = getattr(device, "challenge_message", None)
        return message or gettext(
            "We are calling your phone: enter the last 4 digits of the calling number."
        )
