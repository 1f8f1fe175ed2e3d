from django.urls import include, path

from .urls import urlpatterns as base

urlpatterns = [
    # two-factor's URLs (login, setup, profile...), with the setup view that
    # can finish the flashcall method.
    path("", include("django_flashcall.contrib.two_factor.urls")),
    *base,
]
