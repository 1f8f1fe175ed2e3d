"""Sphinx additions for the django-flashcall docs.

- ``.. setting:: FLASHCALL_CODE_TTL``, ``.. errorcode:: invalid_code`` and
  ``.. check:: django_flashcall.E001`` make an anchor and an index entry; the
  roles ``:setting:``, ``:errorcode:`` and ``:check:`` link to them. A link to
  one that is not documented is a warning, so ``-W`` fails the build.
- ``.. flashcall-openapi::`` renders the API's OpenAPI document (YAML) as
  drf-spectacular generates it now, so the page never drifts from the code.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

OBJECT_TYPES = {
    "setting": "pair: %s; setting",
    "errorcode": "pair: %s; error code",
    "check": "pair: %s; system check",
}


def warn_missing(app: Sphinx, env: Any, node: Any, contnode: Any) -> None:
    if node.get("refdomain") == "std" and node.get("reftype") in OBJECT_TYPES:
        logger.warning(
            "%s %r is not documented (no '.. %s::' for it)",
            node["reftype"],
            node["reftarget"],
            node["reftype"],
            location=node,
        )


class OpenAPIDirective(Directive):
    has_content = False

    def run(self) -> list[nodes.Node]:
        from django.urls import include, path
        from drf_spectacular.generators import SchemaGenerator
        from drf_spectacular.renderers import OpenApiYamlRenderer

        from django_flashcall.api import urls

        ours = [p for p in urls.urlpatterns if p.name in {"request", "confirm"}]
        generator = SchemaGenerator(
            patterns=[path("api/flashcall/", include((ours, "flashcall_api")))],
            title="django-flashcall API",
            version="1",
        )
        schema = generator.get_schema(request=None, public=True)
        text = OpenApiYamlRenderer().render(schema).decode()
        block = nodes.literal_block(text, text)
        block["language"] = "yaml"
        return [block]


def setup(app: Sphinx) -> dict[str, Any]:
    for name, index in OBJECT_TYPES.items():
        app.add_object_type(name, name, indextemplate=index)
    app.connect("missing-reference", warn_missing)
    app.add_directive("flashcall-openapi", OpenAPIDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
