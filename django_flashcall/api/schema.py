"""OpenAPI descriptions, used when drf-spectacular is installed (optional).

Without it the decorators are no-ops and the API works the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import ERRORS

try:
    from drf_spectacular.extensions import OpenApiSerializerFieldExtension
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
except ImportError:  # pragma: no cover - exercised when the extra is absent
    extend_schema = None  # type: ignore[assignment]
    AutoSchema = None  # type: ignore[assignment,misc]
else:

    class AttemptIdFieldExtension(OpenApiSerializerFieldExtension):
        """``attempt_id`` is a UUID (the serializer keeps it a strict string,
        so that a malformed one is ``invalid_request``, not DRF's message)."""

        target_class = "django_flashcall.api.serializers.AttemptIdField"

        def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
            return {"type": "string", "format": "uuid"}


# The answers of the HTTP edge (api/errors.py) that are not domain errors.
EDGE_STATUS = {
    "authentication_failed": 401,  # the site's DRF authentication refused a credential
    "csrf_failed": 403,  # confirm in session mode, without the CSRF token
    "method_not_allowed": 405,  # any method but POST, OPTIONS included
}


def view_schema() -> Any:
    """The per-view schema object: drf-spectacular's when installed."""
    if AutoSchema is not None:
        return AutoSchema()
    from rest_framework.schemas import DefaultSchema

    return DefaultSchema()


def _status(code: str) -> int:
    return {e.code: e.status for e in ERRORS}.get(code) or EDGE_STATUS[code]


def _errors_doc(codes: list[str]) -> str:
    return "Error codes: " + ", ".join(f"`{c}` ({_status(c)})" for c in codes)


def _responses(ok_status: int, ok: Any, codes: list[str]) -> dict[int, Any]:
    from .serializers import ErrorSerializer

    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(_status(code), []).append(code)
    responses: dict[int, Any] = {ok_status: ok}
    for status, names in sorted(by_status.items()):
        responses[status] = OpenApiResponse(
            ErrorSerializer,
            description=" / ".join(f"`{n}`" for n in names),
            examples=[
                OpenApiExample(n, value={"detail": "…", "code": n}, status_codes=[str(status)])
                for n in names
            ],
        )
    return responses


REQUEST_ERRORS = [
    "invalid_request",
    "invalid_phone",
    "challenge_required",
    "rate_limited",
    "provider_unavailable",
    "authentication_failed",
    "method_not_allowed",
]
CONFIRM_ERRORS = [
    "invalid_request",
    "invalid_phone",
    "invalid_code",
    "no_active_attempt",
    "code_expired",
    "too_many_attempts",
    "rate_limited",
    "phone_taken",
    "authentication_failed",
    "csrf_failed",
    "method_not_allowed",
]


def _decorator(kind: str) -> Callable[[Any], Any]:
    if extend_schema is None:
        return lambda view: view
    from .serializers import (
        ConfirmCodeResponseSerializer,
        ConfirmCodeSerializer,
        RequestCodeResponseSerializer,
        RequestCodeSerializer,
    )

    if kind == "request":
        return extend_schema(
            request=RequestCodeSerializer,
            responses=_responses(201, RequestCodeResponseSerializer, REQUEST_ERRORS),
            description="Place a flash call. " + _errors_doc(REQUEST_ERRORS),
        )
    return extend_schema(
        request=ConfirmCodeSerializer,
        responses=_responses(200, ConfirmCodeResponseSerializer, CONFIRM_ERRORS),
        description="Confirm the code. " + _errors_doc(CONFIRM_ERRORS),
    )


request_schema = _decorator("request")
confirm_schema = _decorator("confirm")
