"""Admin screens: the call log (read-only), phones, and a monitoring page.

What staff may see: the code is never stored and its hash is never shown;
phones are masked but for users with the ``change_callattempt`` permission
("may see full phones and act on attempts"). The provider's token appears
nowhere: provider errors are our own words, passed through ``redact``.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import limits, services, stats
from .charts import timeline_chart
from .clock import now
from .conf import flashcall_settings
from .exceptions import InvalidPhone
from .models import CallAttempt, PhoneNumber, Reason, Status
from .phone import MAX_INPUT_LENGTH, mask, normalize, pretty
from .providers import ProviderError, get_provider
from .providers.base import redact

logger = logging.getLogger("django_flashcall")

FULL_PHONE_PERMISSION = "django_flashcall.change_callattempt"
BALANCE_TIMEOUT = 3.0  # seconds the monitoring page waits for get_balance
BALANCE_CACHE = (60, 30)  # seconds to keep an answer, a failure
ACTION_LIMIT = 200  # attempts or phones one admin action touches at most
# Seconds the monitoring page reuses a report. A 30-day report reads every row
# of the window (about a second per million rows on PostgreSQL): recomputing
# it on each page view would let a few open tabs load the database.
REPORT_CACHE = {"1d": 30, "7d": 300, "30d": 900}


def can_see_full_phone(request: HttpRequest) -> bool:
    return request.user.has_perm(FULL_PHONE_PERMISSION)


def _log_text(message: Any, **params: Any) -> str:
    # Stored untranslated, as Django stores its own change messages.
    with translation.override(None):
        return str(message) % params if params else str(message)


def _nowrap(text: str) -> str:
    return text.replace(" ", "\u00a0")


def _reason_label(value: str) -> str:
    try:
        return str(Reason(value).label)
    except ValueError:
        return value or str(_("(none)"))


@admin.register(CallAttempt)
class CallAttemptAdmin(admin.ModelAdmin):
    list_display = (
        "masked_phone", "status", "reason", "channel", "checks_used",
        "delivery_status", "price", "ip", "created_at",
    )  # fmt: skip
    list_filter = ("status", "channel", "created_at", "delivery_status", "reason")
    search_fields = ("phone",)  # shows the search box; get_search_results does the work
    search_help_text = _("A phone in any spelling, an IP address, an attempt id or a provider id.")
    show_full_result_count = False  # one COUNT(*) per page is enough on a big table
    list_per_page = 50
    actions = ["expire_selected", "unlock_phones", "fetch_delivery_status"]
    readonly_fields = (
        "public_id", "masked_phone", "full_phone", "status", "reason", "error", "channel",
        "sms_fallback", "checks_used", "created_at", "expires_at", "verified_at", "user",
        "user_ref", "ip", "user_agent", "provider_id", "delivery_status", "delivery_info",
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
        return super().lookup_allowed(lookup, value, request)

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
                        "provider_id", "delivery_status", "delivery_info", "price",
                        "status_checked_at",
                    ]
                },
            ),
        ]  # fmt: skip

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: CallAttempt) -> str:
        return _nowrap(mask(obj.phone))

    @admin.display(description=_("phone"))
    def full_phone(self, obj: CallAttempt) -> str:
        return pretty(obj.phone)

    @admin.display(description=_("user"))
    def user_ref(self, obj: CallAttempt) -> str:
        # Usernames of users made by flash call are their phones: show the id only.
        return f"#{obj.user_id}" if obj.user_id else "-"

    # -- search: any spelling of a phone ------------------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(phone=normalize(term)), False
        except InvalidPhone:
            pass
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
        return queryset.filter(where), False

    # -- actions, each written to the admin log -----------------------------

    @admin.action(description=_("Expire the selected pending attempts"), permissions=["change"])
    def expire_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = list(queryset.filter(status=Status.PENDING).values_list("pk", flat=True))
        services.expire(CallAttempt.objects.filter(pk__in=ids))
        expired = list(CallAttempt.objects.filter(pk__in=ids, status=Status.EXPIRED))
        for attempt in expired:
            self.log_change(request, attempt, _log_text(_("Expired by staff.")))
        n = len(expired)
        self.message_user(
            request,
            ngettext("%d attempt expired.", "%d attempts expired.", n) % n,
            messages.SUCCESS if n else messages.WARNING,
        )

    @admin.action(
        description=_("Unlock the phones of the selected attempts (forget their wrong codes)"),
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
        since = now() - limits.DAY
        unlocked = 0
        for phone in phones:
            # Exactly the rows the failure lock counts (see limits._failing).
            counted = list(
                CallAttempt.objects.filter(limits._failing(phone, since), phone=phone).only(
                    "pk", "phone", "status", "checks_used"
                )
            )
            if not counted:
                continue
            # A live attempt with wrong codes is expired, not reset: a reset
            # would hand out fresh guesses at a code already being guessed.
            live = [a.pk for a in counted if a.status == Status.PENDING]
            services.expire(CallAttempt.objects.filter(pk__in=live))
            CallAttempt.objects.filter(pk__in=[a.pk for a in counted]).update(checks_used=0)
            for attempt in counted:
                # The evidence moves to the admin log as the counter is reset.
                text = (
                    _("Phone unlocked by staff: wrong codes %(n)d → 0; pending attempt expired.")
                    if attempt.pk in live
                    else _("Phone unlocked by staff: wrong codes %(n)d → 0.")
                )
                self.log_change(request, attempt, _log_text(text, n=attempt.checks_used))
            unlocked += 1
        self.message_user(
            request,
            ngettext("%d phone unlocked.", "%d phones unlocked.", unlocked) % unlocked,
            messages.SUCCESS if unlocked else messages.WARNING,
        )

    @admin.action(description=_("Fetch delivery status from the provider"), permissions=["change"])
    def fetch_delivery_status(self, request: HttpRequest, queryset: QuerySet) -> None:
        from .management.commands.flashcall_sync_status import sync_attempts

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
            self.log_change(request, checked[pk], _log_text(_("Fetched delivery status.")))
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


def cached_report(period: stats.Period, *, refresh: bool = False) -> stats.Report:
    """``stats.report(period)``, reused for ``REPORT_CACHE[period.key]`` seconds."""
    cache = caches[flashcall_settings.CACHE_ALIAS]
    key = f"flashcall:admin:report:{period.key}:{timezone.get_current_timezone_name()}"
    report = None if refresh else cache.get(key)
    if report is None:
        report = stats.report(period)
        cache.set(key, report, REPORT_CACHE.get(period.key, 60))
    return report


def monitor_context(request: HttpRequest, report: stats.Report, site: str) -> dict[str, Any]:
    changelist = reverse("admin:django_flashcall_callattempt_changelist", current_app=site)
    since = {"created_at__gte": report.since.isoformat()}

    def link(**filters: str) -> str:
        return f"{changelist}?{urlencode({**since, **filters})}"

    full = can_see_full_phone(request)
    s = report.summary
    phones = [
        {
            "label": _nowrap(pretty(o.key) if full else mask(o.key)),
            "url": f"{changelist}?{urlencode({'q': o.key})}" if full else "",
            "row": o,
        }
        for o in report.top_phones
    ]
    ips = [
        {"label": o.key, "url": f"{changelist}?{urlencode({'q': o.key})}", "row": o}
        for o in report.top_ips
    ]
    chart_title = (
        _("Attempts per hour") if report.period.bucket == "hour" else _("Attempts per day")
    )
    return {
        "report": report,
        "summary": s,
        "conversion_percent": s.conversion * 100 if s.conversion is not None else None,
        "periods": [(p, p.key == report.period.key) for p in stats.PERIODS.values()],
        "chart": timeline_chart(report.timeline, report.period.bucket, title=str(chart_title)),
        "failed_rows": [
            (_reason_label(r), n, link(status=Status.FAILED, reason=r))
            for r, n in s.failed_by_reason.items()
        ],
        "refused_rows": [
            (_reason_label(r), n, link(status=Status.REFUSED, reason=r))
            for r, n in s.refused_by_reason.items()
        ],
        "links": {
            "all": link(),
            "verified": link(status=Status.VERIFIED),
            "expired": link(status=Status.EXPIRED),
            "exhausted": link(status=Status.EXHAUSTED),
            "failed": link(status=Status.FAILED),
            "refused": link(status=Status.REFUSED),
        },
        "offender_tables": [(_("Phones"), phones), (_("IP addresses"), ips)],
        "balance": provider_balance(),
    }


# -- the provider balance -----------------------------------------------------


@dataclass
class BalanceInfo:
    balance: Decimal | None = None
    price: Decimal | None = None
    balance_limit: Decimal | None = None
    error: str = ""  # why it is unavailable; never holds the token
    low: bool = False
    calls_left: int | None = None


def provider_balance() -> BalanceInfo:
    """The provider's balance, cached briefly; an ``error`` instead of raising."""
    cache = caches[flashcall_settings.CACHE_ALIAS]
    key = f"flashcall:admin:balance:{flashcall_settings.PROVIDER}"
    info = cache.get(key)
    if info is None:
        info = _fetch_balance()
        cache.set(key, info, BALANCE_CACHE[1] if info.error else BALANCE_CACHE[0])
    return info


def _fetch_balance() -> BalanceInfo:
    # The provider's own timeout is the call's (up to 15 s read); the page
    # waits BALANCE_TIMEOUT at most and leaves the thread to finish alone.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flashcall-balance")
    try:
        future = pool.submit(get_provider().get_balance)
    finally:
        pool.shutdown(wait=False)
    try:
        balance = future.result(timeout=BALANCE_TIMEOUT)
    except TimeoutError:
        return BalanceInfo(error=str(_("the provider did not answer in time")))
    except NotImplementedError:
        return BalanceInfo(error=str(_("this provider does not report a balance")))
    except ProviderError as exc:
        return BalanceInfo(error=redact(exc.message))
    except Exception as exc:  # a custom provider's bug must not break the page
        logger.warning("get_balance failed: %s", type(exc).__name__)
        return BalanceInfo(error=str(_("unexpected error")))
    info = BalanceInfo(balance.balance, balance.price, balance.balance_limit)
    low = flashcall_settings.LOW_BALANCE
    if info.balance is not None:
        info.low = low is not None and info.balance < Decimal(str(low))
        if info.price:
            left = (info.balance - (info.balance_limit or 0)) // info.price
            info.calls_left = max(0, int(left))
    return info


# -- phones and users ----------------------------------------------------------


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
class PhoneNumberAdmin(admin.ModelAdmin):
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

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(phone=normalize(term)), False
        except InvalidPhone:
            pass
        username = get_user_model().USERNAME_FIELD
        return queryset.filter(**{f"user__{username}__icontains": term}), False


class PhoneNumberInline(admin.TabularInline):
    """The user's verified phone on the user admin (``PhoneNumber`` mode only)."""

    model = PhoneNumber
    form = PhoneNumberForm
    fk_name = "user"
    fields = ("phone", "verified_at")
    extra = 0
    verbose_name = _("verified phone")
    verbose_name_plural = _("verified phones")

    @staticmethod
    def _enabled() -> bool:
        # Read per request: with FLASHCALL_USER_PHONE_FIELD the user model holds the phone.
        return not flashcall_settings.USER_PHONE_FIELD

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._enabled() and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._enabled() and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._enabled() and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._enabled() and super().has_delete_permission(request, obj)


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
        model_admin.inlines = [*model_admin.inlines, PhoneNumberInline]
    return True


add_phone_inline()
