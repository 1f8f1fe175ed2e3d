"""The call log's list columns, sized for a laptop screen.

At 1280 px the admin's navigation and filter sidebars leave the list about
630 px: nine plain columns did not fit (CLIENT IP and CREATED were cut off).
Status and reason share a cell, delivery and price share one, the date is
short, headers may wrap (change_list.html), and no cell wraps a phone number
at its hyphens.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import CallAttempt
from ..phone import mask, pretty
from .common import can_see_full_phone, money

_NOWRAP = '<span style="white-space: nowrap">{}</span>'


class AttemptColumns:
    """``list_display`` for :class:`CallAttemptAdmin`: the whole phone for
    staff who may see it (as on the attempt's page and the monitor), else
    the masked one."""

    columns = ("status_column", "checks_used", "delivery_column", "ip", "created_column")

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        phone = "phone_column" if can_see_full_phone(request) else "masked_phone_column"
        return (phone, *self.columns)

    def get_list_display_links(self, request: HttpRequest, list_display: Any) -> tuple[str, ...]:
        return (list_display[0],)

    @admin.display(description=_("phone"), ordering="phone")
    def phone_column(self, obj: CallAttempt) -> SafeString:
        return format_html(_NOWRAP, pretty(obj.phone))

    @admin.display(description=_("phone"))
    def masked_phone_column(self, obj: CallAttempt) -> SafeString:
        return format_html(_NOWRAP, mask(obj.phone))

    @admin.display(description=_("status"), ordering="status")
    def status_column(self, obj: CallAttempt) -> SafeString:
        if not obj.reason:
            return format_html("{}", obj.get_status_display())
        return format_html(
            '{}<br><small style="color: var(--body-quiet-color)">{}</small>',
            obj.get_status_display(),
            obj.get_reason_display(),
        )

    @admin.display(description=_("delivered"), ordering="delivery_status")
    def delivery_column(self, obj: CallAttempt) -> SafeString:
        mark = {True: "✓", False: "✗", None: "–"}[obj.delivery_status]
        price = obj.price
        if price is None:
            return format_html("{}", mark)
        return format_html("{} " + _NOWRAP, mark, money(Decimal(price)))

    @admin.display(description=_("created"), ordering="created_at")
    def created_column(self, obj: CallAttempt) -> SafeString:
        when = timezone.localtime(obj.created_at)
        return format_html(_NOWRAP, date_format(when, "Y-m-d H:i"))
