"""The API's OpenAPI hooks when the optional drf-spectacular is not installed
(api/schema.py): DRF's own schema, the views left undecorated. The module is
loaded afresh with every drf_spectacular import refused, as on a site
without the ``schema`` extra."""

from __future__ import annotations

import importlib.util
import sys

from rest_framework.schemas import DefaultSchema

import django_flashcall.api.schema as installed


def load_without_spectacular(monkeypatch):
    for name in [n for n in sys.modules if n.split(".")[0] == "drf_spectacular"]:
        monkeypatch.setitem(sys.modules, name, None)  # None: "import" raises ImportError
    monkeypatch.setitem(sys.modules, "drf_spectacular", None)
    spec = importlib.util.spec_from_file_location(
        "django_flashcall.api._schema_without_spectacular", installed.__file__
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_drf_spectacular_the_views_get_drfs_own_schema(monkeypatch):
    schema = load_without_spectacular(monkeypatch)
    assert schema.AutoSchema is None and schema.extend_schema is None
    assert type(schema.view_schema()) is DefaultSchema

    def view(request):
        return "answer"

    # The decorators give the view back untouched: the API works the same.
    assert schema.request_schema(view) is view
    assert schema.confirm_schema(view) is view


def test_with_drf_spectacular_the_views_get_its_schema():
    from drf_spectacular.openapi import AutoSchema

    assert isinstance(installed.view_schema(), AutoSchema)
