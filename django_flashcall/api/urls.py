from django.urls import path

from . import views

app_name = "flashcall_api"

urlpatterns = [
    path("request/", views.RequestCodeView.as_view(), name="request"),
    path("confirm/", views.ConfirmCodeView.as_view(), name="confirm"),
]

try:  # the OpenAPI schema, with the optional drf-spectacular extra
    import drf_spectacular  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    from .schema_view import FlashCallSchemaView

    urlpatterns.append(path("schema/", FlashCallSchemaView.as_view(), name="schema"))
