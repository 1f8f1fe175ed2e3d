"""Small helpers shared by the admin screens."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ..exceptions import InvalidPhone
from ..internal.clock import now
from ..models import Reason, Status
from ..phone import normalize

FULL_PHONE_PERMISSION = "django_flashcall.change_callattempt"


def can_see_full_phone(request: HttpRequest) -> bool:
    return request.user.has_perm(FULL_PHONE_PERMISSION)


def log_text(message: Any, **params: Any) -> str:
    # Stored untranslated, as Django stores its own change messages.
    with translation.override(None):
        return str(message) % params if params else str(message)


def money(amount: Any) -> str:
    """``Decimal("0.2")`` → ``0.20 ₽``: the providers (all Russian) bill in roubles."""
    return f"{amount:.2f}\u00a0₽"


def nowrap(text: str) -> str:
    return text.replace(" ", "\u00a0")


def reason_label(value: str) -> str:
    try:
        return str(Reason(value).label)
    except ValueError:
        return value or str(_("(none)"))


class PhoneSearchMixin:
    """Admin search: a term that spells a phone in any accepted way finds
    that phone's rows; any other term goes to :meth:`search_other`."""

    def search_other(self, queryset: QuerySet, term: str) -> QuerySet:
        return queryset.none()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(phone=normalize(term)), False
        except InvalidPhone:
            return self.search_other(queryset, term), False


class ExpiredFilter(admin.SimpleListFilter):
    """ "Expired" as the monitoring page counts it: marked expired, or left
    pending past the TTL (flashcall_cleanup marks those later)."""

    title = _("expired")
    parameter_name = "expired"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("Yes, or pending past the TTL"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            lapsed = Q(status=Status.PENDING, expires_at__lte=now())
            return queryset.filter(Q(status=Status.EXPIRED) | lapsed)
        return queryset
