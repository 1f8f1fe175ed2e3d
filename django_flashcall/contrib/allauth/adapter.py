"""``FlashCallAdapterMixin``: allauth's phone methods, answered by flash call.

How allauth's code step meets ours. allauth makes its own code
(``generate_phone_verification_code``), keeps it in its state in the session,
compares what the user types with it, and only then asks the adapter to send
it. A flash call works the other way round: the provider picks the calling
number, so the code exists only once the call is placed. So the mixin places
the call *in* ``generate_phone_verification_code`` (through
``services.place_call``: every limit, the budget, the breaker and the attempt
row) and returns the provider's code for allauth to keep and compare;
``send_verification_code_sms`` has nothing left to send. When allauth accepts
the code it calls ``set_phone_verified``, and the mixin confirms the attempt
through ``services.confirm_code`` with the same code, so the attempt ends
``verified`` under this app's rules (single use, expiry, phone lock) and the
monitoring page counts the login.

allauth keeps its copy of the code in the session, as it does for its own
codes; the mixin keeps the attempt id next to it. Sessions must therefore be
stored on the server: the signed-cookie backend would hand the code to the
browser.

Phones: verified ones live where django_flashcall keeps them (``PhoneNumber``,
or ``FLASHCALL_USER_PHONE_FIELD``), so a phone verified through allauth logs
in through this app's pages and API too, and the other way round. A phone
given at signup but not yet verified waits in the signup's session: nobody
can claim a number without answering its call.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from ... import services
from ...conf import flashcall_settings
from ...exceptions import FlashCallError, InvalidPhone, NoActiveAttempt, PhoneTaken
from ...internal import users
from ...models import CallAttempt, PhoneNumber
from ...phone import normalize
from .fields import FlashCallPhoneField, to_e164
from .refusals import CallRefused

logger = logging.getLogger("django_flashcall")

# The call this session is waiting on: {"attempt": uuid, "phone": stored, "code": str}.
CALL_KEY = "flashcall_allauth_call"
# Phones given at signup, not yet verified: {str(user.pk): stored}.
UNVERIFIED_KEY = "flashcall_allauth_unverified"


def _typed_code(request: HttpRequest) -> str | None:
    """The ``code`` of allauth's form: a page's POST or a headless JSON body.

    Only a bound form says "incorrect_code", so this is a POST; allauth's
    headless views answer 400 to a body that is not a JSON object before any
    form sees it, so the ``except`` guards only a site's own caller."""
    code = request.POST.get("code")
    if code is None and request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except ValueError:
            return None
        code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def _stored(phone: str) -> str | None:
    try:
        return normalize(phone)
    except InvalidPhone:
        return None


class FlashCallAdapterMixin:
    """Mix into the site's ``ACCOUNT_ADAPTER``, before ``DefaultAccountAdapter``.

    Implements allauth's five phone methods (``send_verification_code_sms``,
    ``set_phone``, ``get_phone``, ``set_phone_verified``, ``get_user_by_phone``)
    plus ``generate_phone_verification_code`` and ``phone_form_field``.
    """

    request: HttpRequest | None

    # ------------------------------------------------------------------ form field

    def phone_form_field(self, **kwargs: Any) -> FlashCallPhoneField:
        return FlashCallPhoneField(**kwargs)

    # ------------------------------------------------------------------ the call

    def generate_phone_verification_code(self, *, user: AbstractBaseUser, phone: str) -> str:
        """Place the flash call; the code is the last 4 digits of the caller.

        Raises :class:`CallRefused` when no call can be placed (a limit, the
        breaker, the provider), which allauth turns into its own answers.
        """
        request = self._session_request()
        stored = normalize(phone)
        owner = users.owner_of(stored)
        if owner is not None and (user is None or owner.pk != user.pk):
            # allauth asks for a code even when the number belongs to another
            # account (it then sends "account exists" instead, to prevent
            # enumeration): that must cost no call. The code it keeps is one
            # nobody knows, and set_phone_verified would refuse it anyway.
            request.session.pop(CALL_KEY, None)
            return f"{secrets.randbelow(10_000):04d}"
        call = request.session.get(CALL_KEY) or {}
        placed_now = getattr(request, "_flashcall_allauth_placed", None)
        if call and placed_now == call.get("attempt") and call.get("phone") == stored:
            # allauth's "resend" asks for a code twice in one request
            # (resend() and then send()): one request, one paid call.
            return str(call["code"])
        try:
            attempt, code = services.place_call(stored, request=request)
        except FlashCallError as error:
            raise CallRefused(request, error) from None
        request.session[CALL_KEY] = {
            "attempt": str(attempt.public_id),
            "phone": stored,
            "code": code,
        }
        request._flashcall_allauth_placed = str(attempt.public_id)  # type: ignore[attr-defined]
        return code

    def send_verification_code_sms(
        self, user: AbstractBaseUser, phone: str, code: str, **kwargs: Any
    ) -> None:
        """Nothing to send: the call placed for the code was the message."""

    def send_unknown_account_sms(self, phone: str, **kwargs: Any) -> None:
        """No account has this phone: no call (a call costs money; allauth
        still shows "code sent", so nobody learns whether the number is known)."""

    def send_account_already_exists_sms(self, phone: str) -> None:
        """The phone belongs to another account: no call, for the same reason."""

    def validation_error(self, code: str, *args: Any) -> Any:
        """allauth's error for a form; a wrong code also counts against the call.

        allauth compares codes itself, so without this a wrong code would
        never reach this app's counts: the attempt's ``FLASHCALL_MAX_CHECKS``,
        the phone's ``FLASHCALL_PHONE_MAX_FAILURES`` lock and the monitoring
        page's wrong codes. The code the user typed goes through
        ``confirm_code`` like any other guess (4 digits or no check spent).
        """
        error = super().validation_error(code, *args)  # type: ignore[misc]
        if code == "incorrect_code":
            self._count_wrong_code()
        return error

    def _count_wrong_code(self) -> None:
        request = self.request
        session = getattr(request, "session", None)
        call = session.get(CALL_KEY) if session is not None else None
        typed = _typed_code(self._session_request()) if call else None
        if not call or typed is None:
            return
        try:
            services.confirm_code(
                call["phone"], typed, attempt_id=call["attempt"], request=request, create_user=False
            )
        except FlashCallError:
            return  # the wrong code, counted (or not a code: nothing to count)
        # allauth refused a code that this app accepts: they compare the same
        # string, so this cannot happen; never leave such an attempt usable.
        logger.error("allauth refused a flash-call code that confirm_code accepted")

    # ------------------------------------------------------------------ storage

    def get_user_by_phone(self, phone: str) -> AbstractBaseUser | None:
        stored = _stored(phone)
        return users.owner_of(stored) if stored else None

    def get_phone(self, user: AbstractBaseUser) -> tuple[str, bool] | None:
        stored = users.phone_of(user)
        if stored:
            return to_e164(stored), True
        pending = self._unverified().get(str(user.pk))
        return (to_e164(pending), False) if pending else None

    def set_phone(self, user: AbstractBaseUser, phone: str, verified: bool) -> None:
        stored = normalize(phone)
        if verified:
            self._keep_verified(user, stored)
            return
        request = self._session_request()
        unverified = self._unverified()
        unverified[str(user.pk)] = stored
        request.session[UNVERIFIED_KEY] = unverified

    def set_phone_verified(self, user: AbstractBaseUser, phone: str) -> None:
        """allauth accepted the code: confirm the attempt, then keep the phone.

        The attempt is confirmed with this app's rules; if they refuse (the
        code expired under ``FLASHCALL_CODE_TTL``, the phone is locked, a
        newer call superseded this one), so does the flow, with no phone saved.
        """
        request = self._session_request()
        stored = normalize(phone)
        call = request.session.get(CALL_KEY) or {}
        if call.get("phone") != stored:
            raise CallRefused(request, NoActiveAttempt())
        try:
            attempt = services.confirm_code(
                stored, call["code"], attempt_id=call["attempt"], request=request, create_user=False
            )
        except FlashCallError as error:
            request.session.pop(CALL_KEY, None)
            raise CallRefused(request, error) from None
        request.session.pop(CALL_KEY, None)
        if attempt.user_id != user.pk:
            # A signup's user is not logged in yet: the attempt names it anyway,
            # so the admin and the monitoring page see whose login it was.
            CallAttempt.objects.filter(pk=attempt.pk).update(user=user)
        self._keep_verified(user, stored)
        unverified = self._unverified()
        if unverified.pop(str(user.pk), None) is not None:
            request.session[UNVERIFIED_KEY] = unverified

    # ------------------------------------------------------------------ helpers

    def _keep_verified(self, user: AbstractBaseUser, stored: str) -> None:
        """``stored`` becomes the user's phone, where django_flashcall keeps phones.

        allauth knows one phone per account, so in ``PhoneNumber`` mode a new
        verified phone replaces the user's others (allauth's "change phone").
        """
        owner = users.owner_of(stored)
        try:
            if owner is not None and owner.pk != user.pk:
                raise PhoneTaken()
            if owner is None:
                users.attach(user, stored)
        except PhoneTaken as error:
            raise CallRefused(self._session_request(), error) from None
        if not flashcall_settings.USER_PHONE_FIELD:
            PhoneNumber.objects.filter(user_id=user.pk).exclude(phone=stored).delete()

    def _unverified(self) -> dict[str, str]:
        request = self.request
        session = getattr(request, "session", None)
        return dict(session.get(UNVERIFIED_KEY) or {}) if session is not None else {}

    def _session_request(self) -> HttpRequest:
        request = self.request
        if request is None or not hasattr(request, "session"):
            raise RuntimeError(
                "FlashCallAdapterMixin needs allauth's current request, with a session "
                "(allauth sets it while its views run)."
            )
        return request


class FlashCallAccountAdapter(FlashCallAdapterMixin, DefaultAccountAdapter):
    """allauth's default adapter with flash calls, for sites without their own:
    ``ACCOUNT_ADAPTER = "django_flashcall.contrib.allauth.FlashCallAccountAdapter"``."""
