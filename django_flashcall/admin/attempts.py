"""The call log: read-only, masked phones, staff actions."""

from __future__ import annotations

import ipaddress
import logging
import uuid
from typing import Any

import django
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .. import services
from ..models import CallAttempt, Status
from ..monitoring import stats
from ..phone import mask, pretty
from .columns import AttemptColumns
from .common import ExpiredFilter, PhoneSearchMixin, can_see_full_phone, log_text, nowrap
from .monitor import cached_report, monitor_context

logger = logging.getLogger("django_flashcall")

ACTION_LIMIT = 200  # attempts or phones one admin action touches at most


@admin.register(CallAttempt)
class CallAttemptAdmin(AttemptColumns, PhoneSearchMixin, admin.ModelAdmin):
    # list_display: AttemptColumns.get_list_display (full or masked phone)
    list_filter = (
        "status", ExpiredFilter, "channel", "provider", "created_at", "delivery_status", "reason",
    )  # fmt: skip
    search_fields = ("phone",)  # shows the search box; get_search_results does the work
    search_help_text = _("A phone in any spelling, an IP address, an attempt id or a provider id.")
    show_full_result_count = False  # one COUNT(*) per page is enough on a big table
    list_per_page = 50
    actions = ["expire_selected", "unlock_phones", "fetch_delivery_status"]
    readonly_fields = (
        "public_id", "masked_phone", "full_phone", "status", "reason", "error", "channel",
        "sms_fallback", "checks_used", "created_at", "expires_at", "verified_at", "user",
        "user_ref", "ip", "user_agent", "provider", "failed_before", "provider_id",
        "delivery_status", "delivery_info",
        "price", "status_checked_at",
    )  # fmt: skip
    change_list_template = "admin/django_flashcall/callattempt/change_list.html"

    # -- read-only: the log is evidence -------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # flashcall_cleanup enforces retention; deleting rows would reset limits

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Without an object this is the permission to run the actions; an
        # attempt's own page is always read-only.
        return obj is None and super().has_change_permission(request)

    def lookup_allowed(self, lookup: str, value: Any, request: Any = None) -> bool:
        # No oracle on the hash, and no phone-prefix probing by masked viewers.
        if lookup.startswith("code_hash"):
            return False
        if lookup.startswith("phone__") and not (request and can_see_full_phone(request)):
            return False
        # Django 4.2's lookup_allowed() takes no request (5.0 added it). A value,
        # not an if: each run of the suite has one Django and covers one side.
        extra = (request,) if django.VERSION >= (5, 0) else ()
        return super().lookup_allowed(lookup, value, *extra)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        full = can_see_full_phone(request)
        return [
            (
                None,
                {
                    "fields": [
                        "public_id", "full_phone" if full else "masked_phone", "status",
                        "reason", "error", "channel", "sms_fallback", "checks_used",
                        "created_at", "expires_at", "verified_at", "user" if full else "user_ref",
                    ]
                },
            ),
            (_("Client"), {"fields": ["ip", "user_agent"]}),
            (
                _("Delivery"),
                {
                    "fields": [
                        "provider", "failed_before", "provider_id", "delivery_status",
                        "delivery_info", "price", "status_checked_at",
                    ]
                },
            ),
        ]  # fmt: skip

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: CallAttempt) -> str:
        return nowrap(mask(obj.phone))

    @admin.display(description=_("phone"))
    def full_phone(self, obj: CallAttempt) -> str:
        return pretty(obj.phone)

    @admin.display(description=_("user"))
    def user_ref(self, obj: CallAttempt) -> str:
        # Usernames of users made by flash call are their phones: show the id only.
        return f"#{obj.user_id}" if obj.user_id else "-"

    # -- search: any spelling of a phone ------------------------------------

    def search_other(self, queryset: QuerySet, term: str) -> QuerySet:
        # Exact matches only: each is served by an index, even on a big table.
        where = Q(provider_id=term[:64])
        try:
            where |= Q(ip=str(ipaddress.ip_address(term)))
        except ValueError:
            pass
        try:
            where |= Q(public_id=uuid.UUID(term))
        except ValueError:
            pass
        return queryset.filter(where)

    # -- actions, each written to the admin log -----------------------------

    @admin.action(description=_("Expire the selected pending attempts"), permissions=["change"])
    def expire_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(
            queryset.filter(status=Status.PENDING).values_list("pk", flat=True)[: ACTION_LIMIT + 1]
        )
        if len(ids) > ACTION_LIMIT:  # one admin log entry each, in one request
            self.message_user(
                request,
                _("Select at most %d pending attempts.") % ACTION_LIMIT,
                messages.ERROR,
            )
            return
        services.expire_attempts(CallAttempt.objects.filter(pk__in=ids))
        expired = list(CallAttempt.objects.filter(pk__in=ids, status=Status.EXPIRED))
        for attempt in expired:
            self.log_change(request, attempt, log_text(_("Expired by staff.")))
        n = len(expired)
        self.message_user(
            request,
            ngettext("%d attempt expired.", "%d attempts expired.", n) % n,
            messages.SUCCESS if n else messages.WARNING,
        )

    @admin.action(
        # Short: the action menu is as wide as its longest entry.
        description=_("Unlock the phones of the selected attempts (lift all phone limits)"),
        permissions=["change"],
    )
    def unlock_phones(self, request: HttpRequest, queryset: QuerySet) -> None:
        phones = list(
            queryset.order_by().values_list("phone", flat=True).distinct()[: ACTION_LIMIT + 1]
        )
        if len(phones) > ACTION_LIMIT:
            self.message_user(
                request,
                _("Select attempts of at most %d phones.") % ACTION_LIMIT,
                messages.ERROR,
            )
            return
        unlocked = 0
        for phone in phones:
            done = services.unlock_phone(phone, by=request.user.get_username())
            if done is None:
                continue
            text = (
                _(
                    "Phone unlocked by staff: %(n)d wrong codes forgiven, %(calls)d calls "
                    "no longer count against its limits; pending attempt expired."
                )
                if done.expired
                else _(
                    "Phone unlocked by staff: %(n)d wrong codes forgiven, %(calls)d calls "
                    "no longer count against its limits."
                )
            )
            self.log_change(request, done.marker, log_text(text, n=done.forgiven, calls=done.calls))
            unlocked += 1
        if not unlocked:
            self.message_user(
                request,
                _("Nothing to unlock: no call and no wrong code counts against these phones."),
                messages.WARNING,
            )
            return
        self.message_user(
            request,
            ngettext(
                "%d phone unlocked: it can get a new call now.",
                "%d phones unlocked: they can get a new call now.",
                unlocked,
            )
            % unlocked,
            messages.SUCCESS,
        )

    @admin.action(description=_("Fetch delivery status from the provider"), permissions=["change"])
    def fetch_delivery_status(self, request: HttpRequest, queryset: QuerySet) -> None:
        from ..monitoring.delivery import sync_attempts

        attempts = list(queryset.exclude(provider_id="").order_by("-created_at")[:ACTION_LIMIT])
        try:
            result = sync_attempts(attempts)
        except NotImplementedError:
            self.message_user(
                request, _("This provider does not report delivery status."), messages.ERROR
            )
            return
        checked = {a.pk: a for a in attempts}
        for pk in result.checked_ids:
            self.log_change(request, checked[pk], log_text(_("Fetched delivery status.")))
        self.message_user(
            request,
            _("Checked %(checked)d: %(delivered)d delivered, %(undelivered)d not delivered.")
            % {
                "checked": result.checked,
                "delivered": result.delivered,
                "undelivered": result.undelivered,
            },
            messages.SUCCESS,
        )
        if result.stopped:
            message = _("Stopped early: the provider failed (%s).") % result.stopped
            self.message_user(request, message, messages.ERROR)

    # -- the monitoring page -------------------------------------------------

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}_monitor"
        view = self.admin_site.admin_view(self.monitor_view)
        return [path("monitor/", view, name=name), *super().get_urls()]

    def monitor_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            period = stats.get_period(request.GET.get("period"))
        except KeyError:
            period = stats.get_period(None)
        report = cached_report(period, refresh="refresh" in request.GET)
        context = {
            **self.admin_site.each_context(request),
            **monitor_context(request, report, self.admin_site.name),
            "opts": self.opts,
            "title": _("Flash call monitoring"),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/django_flashcall/callattempt/monitor.html", context)
