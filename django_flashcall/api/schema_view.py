"""``schema/``: the OpenAPI document of this API only (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer, OpenApiYamlRenderer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class FlashCallSchemaView(APIView):
    # Not an operation of the API it describes: left out of every schema, so
    # a site's own drf-spectacular schema (and its check E001) skips it.
    schema = None
    renderer_classes = [OpenApiJsonRenderer, OpenApiYamlRenderer]
    permission_classes = [AllowAny]
    authentication_classes: list = []

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from . import urls

        prefix = request.path[: -len("schema/")].lstrip("/")
        ours = [p for p in urls.urlpatterns if p.name in {"request", "confirm"}]
        generator = SchemaGenerator(
            patterns=[path(prefix, include((ours, "flashcall_api")))],
            title="django-flashcall API",
            version="1",
        )
        return Response(generator.get_schema(request=request, public=True))
