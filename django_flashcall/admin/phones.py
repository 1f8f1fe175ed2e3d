"""Phones and their users: the PhoneNumber admin and the user-admin inline."""

from __future__ import annotations

import logging
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from ..conf import flashcall_settings
from ..exceptions import InvalidPhone
from ..models import PhoneNumber
from ..phone import MAX_INPUT_LENGTH, normalize, pretty
from .common import PhoneSearchMixin

logger = logging.getLogger("django_flashcall")


class PhoneNumberForm(forms.ModelForm):
    # Longer than the stored 11 digits: any spelling is accepted, then normalised.
    phone = forms.CharField(label=_("phone"), max_length=MAX_INPUT_LENGTH)

    class Meta:
        model = PhoneNumber
        fields = ("user", "phone", "verified_at")

    def clean_phone(self) -> str:
        try:
            return normalize(self.cleaned_data["phone"])
        except InvalidPhone as exc:
            raise forms.ValidationError(str(exc.detail)) from None


@admin.register(PhoneNumber)
class PhoneNumberAdmin(PhoneSearchMixin, admin.ModelAdmin):
    form = PhoneNumberForm
    list_display = ("pretty_phone", "user_link", "verified_at")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    search_fields = ("phone",)
    search_help_text = _("A phone in any spelling, or a username.")

    @admin.display(description=_("phone"), ordering="phone")
    def pretty_phone(self, obj: PhoneNumber) -> str:
        return pretty(obj.phone)

    @admin.display(description=_("user"))
    def user_link(self, obj: PhoneNumber) -> str:
        opts = obj.user._meta
        try:
            url = reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[obj.user.pk],
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:  # the user model is not in this admin site
            return str(obj.user)
        return format_html('<a href="{}">{}</a>', url, obj.user)

    def search_other(self, queryset: QuerySet, term: str) -> QuerySet:
        username = get_user_model().USERNAME_FIELD
        return queryset.filter(**{f"user__{username}__icontains": term})


class PhoneNumberInline(admin.TabularInline):
    """The user's verified phones on the user admin (``PhoneNumber`` mode only).

    Read-only: a phone is verified by a call, not typed in by staff here (no
    raw field, no "Add another"). Linking or unlinking a phone by hand is the
    ``PhoneNumber`` admin's job; each row links to it.
    """

    model = PhoneNumber
    fk_name = "user"
    fields = ("phone_link", "verified_at")
    readonly_fields = ("phone_link", "verified_at")
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name = _("verified phone")
    verbose_name_plural = _("verified phones")

    @admin.display(description=_("phone"))
    def phone_link(self, obj: PhoneNumber) -> str:
        try:
            url = reverse(
                f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change",
                args=[obj.pk],
                current_app=self.admin_site.name,
            )
        except NoReverseMatch:
            return pretty(obj.phone)
        return format_html(
            '<a href="{}" style="white-space: nowrap">{}</a>', url, pretty(obj.phone)
        )

    @staticmethod
    def _enabled() -> bool:
        # Read per request: with FLASHCALL_USER_PHONE_FIELD the user model holds the phone.
        return not flashcall_settings.USER_PHONE_FIELD

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._enabled() and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def add_phone_inline(site: admin.AdminSite = admin.site) -> bool:
    """Add :class:`PhoneNumberInline` to the user admin registered on ``site``.

    Sets the inline on that ``ModelAdmin`` instance only: no unregistering,
    so a custom user admin keeps its class and state. A no-op when no user
    admin is registered (yet): add ``PhoneNumberInline`` to your own user
    admin's ``inlines`` then. Returns whether the inline is in place.
    """
    model_admin = site._registry.get(get_user_model())
    if model_admin is None:
        return False
    if not any(issubclass(i, PhoneNumberInline) for i in model_admin.inlines):
        # On this instance only: the class may be registered on other sites.
        model_admin.inlines = [*model_admin.inlines, PhoneNumberInline]  # type: ignore[misc]
    return True


add_phone_inline()
