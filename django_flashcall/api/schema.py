"""OpenAPI descriptions, used when drf-spectacular is installed (optional).

Without it the decorators are no-ops and the API works the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import ERRORS

try:
    from drf_spectacular.openapi import AutoSchema
    from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
except ImportError:  # pragma: no cover - exercised when the extra is absent
    extend_schema = None  # type: ignore[assignment]
    AutoSchema = None  # type: ignore[assignment,misc]


def view_schema() -> Any:
    """The per-view schema object: drf-spectacular's when installed."""
    if AutoSchema is not None:
        return AutoSchema()
    from rest_framework.schemas import DefaultSchema

    return DefaultSchema()


def _errors_doc(codes: list[str]) -> str:
    rows = {e.code: e for e in ERRORS}
    return "Error codes: " + ", ".join(f"`{c}` ({rows[c].status})" for c in codes)


def _responses(ok_status: int, ok: Any, codes: list[str]) -> dict[int, Any]:
    from .serializers import ErrorSerializer

    by_status: dict[int, list[str]] = {}
    for error in ERRORS:
        if error.code in codes:
            by_status.setdefault(error.status, []).append(error.code)
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


REQUEST_ERRORS = ["invalid_request", "invalid_phone", "rate_limited", "provider_unavailable"]
CONFIRM_ERRORS = [
    "invalid_request",
    "invalid_phone",
    "invalid_code",
    "no_active_attempt",
    "code_expired",
    "too_many_attempts",
    "rate_limited",
    "phone_taken",
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
