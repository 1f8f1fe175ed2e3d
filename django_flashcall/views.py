"""The HTML login (SPEC §7): a phone form, then, by redirect, a code form.

Views orchestrate only. The rules (limits, codes, who owns a phone) live in
``services``, exactly as for the JSON API; a ``FlashCallError`` it raises is
shown to the user as its ``detail``. Between the two steps the pending
attempt lives in the session. The pages always log in with the session,
whatever ``FLASHCALL_LOGIN`` says (that setting shapes the JSON API).
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from . import services
from .conf import flashcall_settings
from .exceptions import ChallengeRequired, FlashCallError, InvalidCode, InvalidPhone, RateLimited
from .forms import CodeForm, PhoneForm, ResendForm
from .internal import clock
from .internal.login import BACKEND, can_log_in
from .internal.net import CONFIRM_GROUP, REQUEST_GROUP, check_ip_rate
from .internal.users import phone_of
from .models import CallAttempt, Reason
from .phone import pretty

SESSION_KEY = "django_flashcall"


def wait_clock(seconds: int) -> str:
    """``57`` → ``0:57``, ``3725`` → ``1:02:05`` (the JavaScript countdown's format)."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def error_message(error: FlashCallError) -> str:
    """The error's translated ``detail``, plus the attempts left for a wrong code."""
    text = str(error.detail)
    left = error.extra.get("attempts_left")
    if isinstance(error, InvalidCode) and left is not None:
        more = ngettext("%(count)d attempt left.", "%(count)d attempts left.", left) % {
            "count": left
        }
        text = f"{text} {more}"
    return text


def safe_next(request: HttpRequest) -> str:
    """``next`` from the form or the query string, if it stays on this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if allowed else ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def pending(request: HttpRequest) -> dict[str, Any] | None:
    state = request.session.get(SESSION_KEY)
    return state if isinstance(state, dict) and state.get("attempt") else None


def remember(request: HttpRequest, attempt: CallAttempt) -> None:
    """Keep the new attempt in the session for the code step."""
    request.session[SESSION_KEY] = {
        "attempt": str(attempt.public_id),
        "phone": attempt.phone,
        "sms": attempt.sms_fallback,
        "resend_at": clock.now().timestamp() + int(flashcall_settings.RESEND_COOLDOWN or 0),
    }


def _submitted(form: PhoneForm) -> str | None:
    """The valid phone a bound form carries (stored form), else None."""
    return getattr(form, "cleaned_data", {}).get("phone")


def cooldown_left(state: dict[str, Any]) -> int:
    """Seconds before the session's pending phone (``pending()``) may get another call."""
    return max(0, math.ceil(state.get("resend_at", 0) - clock.now().timestamp()))


def _show_error(form: Any, error: FlashCallError, field: str | None = None) -> dict[str, Any]:
    """Put ``error`` on ``form``; return the template's ``wait``: when to try
    again, and which limit said so (the page's advice depends on it)."""
    if isinstance(error, ChallengeRequired):
        form.ask_challenge(error)
        field = "challenge"
    form.add_error(field, error_message(error))
    retry_after = error.extra.get("retry_after")
    if retry_after:
        return {
            "seconds": int(retry_after),
            "clock": wait_clock(retry_after),
            "reason": str(error.reason or ""),
        }
    return {}


@method_decorator(transaction.non_atomic_requests, name="dispatch")  # limits.check_autocommit
class PhoneLoginView(View):
    """Step 1: the phone. A valid one gets a call and a redirect to step 2."""

    template_name = "django_flashcall/login.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, PhoneForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = PhoneForm(request.POST)
        # A typo or an empty form is answered before the IP rate is counted:
        # only requests that may place a call use up the client's budget.
        if not form.is_valid():
            return self.render(request, form)
        phone = form.cleaned_data["phone"]
        state = pending(request)
        if state and state["phone"] == phone and cooldown_left(state):
            # A second tab, or the back button: this session's call to this
            # phone is on its way. Say so, free, and point back to its code.
            refusal = RateLimited(retry_after=cooldown_left(state), reason=Reason.COOLDOWN)
            return self.render(request, form, _show_error(form, refusal))
        wait: dict[str, Any] = {}
        try:
            check_ip_rate(request, REQUEST_GROUP, "RATELIMIT_REQUEST")
            attempt = services.request_code(
                phone,
                request=request,
                sms_fallback=form.sms_choice(),
                challenge=form.challenge_answer(),
            )
        except FlashCallError as error:
            wait = _show_error(form, error, "phone" if isinstance(error, InvalidPhone) else None)
            return self.render(request, form, wait)
        remember(request, attempt)
        return redirect(_with_next(reverse("flashcall:confirm"), safe_next(request)))

    def render(
        self, request: HttpRequest, form: PhoneForm, wait: Any = None, errors: tuple = ()
    ) -> HttpResponse:
        form.mark_errors()
        state = pending(request)
        user = request.user
        own_phone = phone_of(user) if user.is_authenticated else None
        context = {
            "form": form,
            "errors": [*form.non_field_errors(), *errors],
            "next": safe_next(request),
            "verifying": user.is_authenticated,
            "own_phone": pretty(own_phone) if own_phone else "",
            "wait": wait or {},
            "pending_phone": pretty(state["phone"]) if state else "",
            # The phone just submitted has a call waiting for its code here.
            "code_waiting": state is not None and _submitted(form) == state["phone"],
            "ip_rate": flashcall_settings.RATELIMIT_REQUEST if settings.DEBUG else "",
        }
        return render(request, self.template_name, context)


@method_decorator(transaction.non_atomic_requests, name="dispatch")  # limits.check_autocommit
class ConfirmView(View):
    """Step 2: the code, and "call me again" (which respects the cooldown)."""

    template_name = "django_flashcall/confirm.html"

    state: dict[str, Any]  # the flow's session state, set by dispatch()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        state = pending(request)
        if state is None:
            return redirect(_with_next(reverse("flashcall:login"), safe_next(request)))
        self.state = state
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, CodeForm(), ResendForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if request.POST.get("action") == "resend":
            return self.resend(request)
        form = CodeForm(request.POST)
        wait: dict[str, Any] = {}
        try:
            # Something that cannot be a code is answered first: it is no
            # guess, so it costs neither a check nor the IP's budget.
            if form.is_valid():
                check_ip_rate(request, CONFIRM_GROUP, "RATELIMIT_CONFIRM")
                attempt = services.confirm_code(
                    self.state["phone"],
                    form.cleaned_data["code"],
                    attempt_id=self.state["attempt"],
                    request=request,
                    # The pages always log in, whatever FLASHCALL_LOGIN says.
                    create_user=bool(flashcall_settings.CREATE_USERS),
                )
                return self.succeed(request, attempt)
        except FlashCallError as error:
            wait = _show_error(form, error, "code" if isinstance(error, InvalidCode) else None)
            # A wrong code is not shown back: the next 4 digits auto-submit.
            data = request.POST.copy()
            data["code"] = ""
            form.data = data
        return self.render(request, form, ResendForm(), wait)

    def resend(self, request: HttpRequest) -> HttpResponse:
        form = ResendForm(request.POST)
        form.is_valid()  # one optional checkbox: always valid
        try:
            left = cooldown_left(self.state)
            if left:
                # Too early (a stale page, a double click): answered from the
                # session, so it costs no IP budget; only real calls do.
                raise RateLimited(retry_after=left, reason=Reason.COOLDOWN)
            check_ip_rate(request, REQUEST_GROUP, "RATELIMIT_REQUEST")
            attempt = services.request_code(
                self.state["phone"],
                request=request,
                sms_fallback=form.sms_choice(),
                challenge=form.challenge_answer(),
            )
        except FlashCallError as error:
            wait = _show_error(form, error)
            if wait:
                self.state["resend_at"] = clock.now().timestamp() + wait["seconds"]
                request.session[SESSION_KEY] = self.state
            return self.render(request, CodeForm(), form, wait)
        remember(request, attempt)
        messages.info(request, _("We are calling you again."), fail_silently=True)
        return redirect(_with_next(reverse("flashcall:confirm"), safe_next(request)))

    def succeed(self, request: HttpRequest, attempt: CallAttempt) -> HttpResponse:
        del request.session[SESSION_KEY]
        user = attempt.user
        if user is None or not can_log_in(user):
            error = _("This phone number is verified, but no active account uses it.")
            return PhoneLoginView().render(request, PhoneForm(), errors=(error,))
        if request.user.is_authenticated and request.user.pk == user.pk:
            messages.success(
                request,
                _("Your phone number %(phone)s is verified.") % {"phone": pretty(attempt.phone)},
                fail_silently=True,
            )
        else:
            login(request, user, backend=BACKEND)
        return HttpResponseRedirect(safe_next(request) or resolve_url(settings.LOGIN_REDIRECT_URL))

    def render(
        self, request: HttpRequest, form: CodeForm, resend_form: ResendForm, wait: Any = None
    ) -> HttpResponse:
        form.mark_errors()
        resend_form.mark_errors()
        resend_wait = cooldown_left(self.state)
        context = {
            "form": form,
            "resend_form": resend_form,
            "errors": [*form.non_field_errors(), *resend_form.non_field_errors()],
            "phone": self.state["phone"],
            "phone_display": pretty(self.state["phone"]),
            "sms_fallback": bool(self.state.get("sms")),
            "next": safe_next(request),
            "verifying": request.user.is_authenticated,
            "wait": wait or {},
            "resend_wait": resend_wait,
            "resend_clock": wait_clock(resend_wait),
        }
        return render(request, self.template_name, context)
