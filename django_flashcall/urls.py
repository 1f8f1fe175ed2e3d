"""The HTML pages (SPEC §7). Mount with
``path("accounts/phone/", include("django_flashcall.urls"))``."""

from django.urls import path

from . import views

app_name = "flashcall"

urlpatterns = [
    path("", views.PhoneLoginView.as_view(), name="login"),
    path("confirm/", views.ConfirmView.as_view(), name="confirm"),
]
