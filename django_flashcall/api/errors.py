"""The one place where errors become SPEC §4 JSON: ``{"detail", "code", ...}``."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions as drf
from rest_framework.response import Response

from ..exceptions import FlashCallError, InvalidRequest

logger = logging.getLogger("django_flashcall")


def error_response(error: FlashCallError) -> Response:
    body = error.as_dict()
    headers = {}
    if "retry_after" in error.extra:
        headers["Retry-After"] = str(error.extra["retry_after"])
    return Response(body, status=error.status, headers=headers)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler for our views: every error in the SPEC shape."""
    if isinstance(exc, FlashCallError):
        return error_response(exc)
    if isinstance(exc, drf.MethodNotAllowed):
        return Response(
            {"detail": str(exc.detail), "code": "method_not_allowed"},
            status=405,
            headers={"Allow": ", ".join(context["view"].allowed_methods)},
        )
    if isinstance(exc, drf.NotAcceptable):
        return Response({"detail": str(exc.detail), "code": "not_acceptable"}, status=406)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        # Bad credentials of the site's DRF authentication (token, JWT...).
        # A 401 names the scheme to use (RFC 9110 §15.5.2), as DRF's own
        # handler does; DRF made it a 403 when no scheme has a header.
        auth_header = getattr(exc, "auth_header", None)
        return Response(
            {"detail": str(exc.detail), "code": "authentication_failed"},
            status=exc.status_code,
            headers={"WWW-Authenticate": auth_header} if auth_header else None,
        )
    if isinstance(exc, drf.PermissionDenied):
        # The views allow anyone: this is the session path's CSRF check.
        return Response({"detail": str(exc.detail), "code": "csrf_failed"}, status=403)
    if isinstance(exc, RequestDataTooBig):
        return error_response(InvalidRequest(_("The request body is too large.")))
    if isinstance(exc, Http404):
        return Response({"detail": _("Not found."), "code": "not_found"}, status=404)
    if isinstance(exc, drf.APIException):
        # ParseError, UnsupportedMediaType, a too-large body...: the request is malformed.
        return error_response(InvalidRequest(_("The request body must be a JSON object.")))
    return None


def unexpected(exc: Exception) -> Response:
    """Last resort: a bug must still answer JSON, never Django's HTML 500."""
    logger.exception("Unexpected error in the flash-call API")
    return Response(
        {"detail": _("Something went wrong on our side."), "code": "server_error"}, status=500
    )
