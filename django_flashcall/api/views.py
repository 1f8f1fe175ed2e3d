"""The JSON API (SPEC §4). Thin: check the shape and the IP rate, call a
service, and let ``errors.exception_handler`` translate what it raises."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from ..conf import flashcall_settings
from ..exceptions import FlashCallError, InvalidRequest
from ..internal.login import log_in
from ..internal.net import CONFIRM_GROUP, REQUEST_GROUP, check_ip_rate
from . import errors
from .parsers import StrictJSONParser, check_length
from .schema import confirm_schema, request_schema, view_schema
from .serializers import ConfirmCodeSerializer, RequestCodeSerializer


class ASCIIJSONRenderer(JSONRenderer):
    """ASCII-only JSON: a lone surrogate in a field name, echoed in an error,
    could not be encoded as UTF-8 (a 500 at render time, outside DRF's
    exception handling)."""

    ensure_ascii = True


class JSONFallback(DefaultContentNegotiation):
    """An ``Accept`` we cannot satisfy still gets the SPEC's JSON, not a 406."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return ASCIIJSONRenderer(), ASCIIJSONRenderer.media_type


_JSON = ASCIIJSONRenderer()
_PLAIN_ACCEPT = frozenset({"*/*", "application/json"})


# Never inside ATOMIC_REQUESTS: a request's attempt row must commit before
# its paid call (limits.check_autocommit), and a counted wrong code must stick.
@method_decorator(transaction.non_atomic_requests, name="dispatch")
class FlashCallAPIView(APIView):
    """Authentication is the site's DRF default (session, token, JWT...), so a
    logged-in client can attach a phone; the session path enforces CSRF."""

    http_method_names = ["post"]  # SPEC §4: any other method, OPTIONS too, is a JSON 405
    parser_classes = [StrictJSONParser]
    content_negotiation_class = JSONFallback
    permission_classes = [AllowAny]
    throttle_classes: list = []
    schema = view_schema()
    ratelimit_group = ""
    ratelimit_setting = ""

    def get_renderers(self) -> list:
        # The browsable API is HTML: only where FLASHCALL_BROWSABLE_API (by
        # default DEBUG) allows it; in production the API answers JSON only.
        browsable = flashcall_settings.BROWSABLE_API
        if browsable is None:
            browsable = settings.DEBUG
        if browsable:
            return [ASCIIJSONRenderer(), BrowsableAPIRenderer()]
        return [ASCIIJSONRenderer()]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # What JSON clients send, or no Accept at all: DRF would choose the
        # JSON renderer (always listed first) for these; skip parsing them.
        if (
            request.META.get("HTTP_ACCEPT", "*/*") in _PLAIN_ACCEPT
            and self.format_kwarg is None
            and self.settings.URL_FORMAT_OVERRIDE not in request._request.GET
        ):
            return _JSON, _JSON.media_type
        return super().perform_content_negotiation(request, force)

    def get_exception_handler(self) -> Any:
        return errors.exception_handler

    def handle_exception(self, exc: Exception) -> Response:
        try:
            return super().handle_exception(exc)
        except Exception as unexpected:  # noqa: BLE001  never Django's HTML 500
            return errors.unexpected(unexpected)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            check_length(request.META)  # before anything reads the body
            # Read before the IP rate counts the request: a body that is not a
            # JSON object (a cross-site text/plain or form POST needs no CORS
            # preflight) must not use up a visitor's bucket. Parsing at most
            # 16 KiB costs little; an empty body parses to {} whatever its type.
            media_type = (request.content_type or "").split(";")[0].strip().lower()
            if media_type != "application/json" or type(request.data) is not dict:
                raise InvalidRequest(_("The request body must be a JSON object."))
            check_ip_rate(request._request, self.ratelimit_group, self.ratelimit_setting)


@request_schema
class RequestCodeView(FlashCallAPIView):
    """Place a flash call. The code is the last 4 digits of the calling number."""

    ratelimit_group = REQUEST_GROUP
    ratelimit_setting = "RATELIMIT_REQUEST"
    serializer_class = RequestCodeSerializer

    def post(self, request: Request) -> Response:
        data = RequestCodeSerializer.check(request.data)
        attempt = services.request_code(
            data["phone"],
            request=request._request,
            sms_fallback=data.get("sms_fallback"),
            challenge=data.get("challenge"),
        )
        if flashcall_settings.LOGIN == "session":
            get_token(request._request)  # the CSRF cookie confirm/ will need
        assert attempt.expires_at is not None  # a pending attempt always has one
        return Response(
            {
                "attempt_id": str(attempt.public_id),
                "phone": attempt.phone,
                "channel": attempt.channel,
                "code_length": 4,
                "expires_at": attempt.expires_at.isoformat(),
                "resend_after": int(flashcall_settings.RESEND_COOLDOWN),
            },
            status=201,
        )


@confirm_schema
class ConfirmCodeView(FlashCallAPIView):
    """Check the code; log in per FLASHCALL_LOGIN."""

    ratelimit_group = CONFIRM_GROUP
    ratelimit_setting = "RATELIMIT_CONFIRM"
    serializer_class = ConfirmCodeSerializer

    def perform_authentication(self, request: Request) -> None:
        super().perform_authentication(request)
        if flashcall_settings.LOGIN == "session" and not request.user.is_authenticated:
            # Login CSRF: a page must not log a visitor into someone else's account.
            SessionAuthentication().enforce_csrf(request)

    def post(self, request: Request) -> Response:
        data = ConfirmCodeSerializer.check(request.data)
        attempt = services.confirm_code(
            data.get("phone"),
            data["code"],
            attempt_id=data.get("attempt_id"),
            request=request._request,
        )
        user = attempt.user
        body: dict[str, Any] = {
            "verified": True,
            "phone": attempt.phone,
            "user_id": user.pk if user is not None and user.is_active else None,
        }
        body.update(log_in(request._request, user, attempt))
        return Response(body, status=200)


__all__ = ["ConfirmCodeView", "FlashCallError", "RequestCodeView"]
