"""Staff see and manage flash-call devices; the pending call's code is never
shown (only its hash exists), and the phone is masked in the list."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ...phone import mask
from .models import FlashCallDevice


@admin.register(FlashCallDevice)
class FlashCallDeviceAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "masked_phone", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed", "created_at", "last_used_at"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "last_used_at", "attempt_id"]
    fieldsets = [
        (None, {"fields": ["user", "name", "confirmed", "phone", "attempt_id"]}),
        (None, {"fields": ["created_at", "last_used_at"]}),
    ]

    def get_search_fields(self, request):  # type: ignore[no-untyped-def]
        from django.contrib.auth import get_user_model

        return [f"user__{get_user_model().USERNAME_FIELD}", "phone"]

    @admin.display(description=_("phone"), ordering="phone")
    def masked_phone(self, device: FlashCallDevice) -> str:
        return mask(device.phone)
