from django.urls import include, path

from .urls import urlpatterns as base

urlpatterns = [
    *base,
    path("accounts/", include("allauth.urls")),  # allauth's pages
    path("_allauth/", include("allauth.headless.urls")),  # allauth's headless API
]
