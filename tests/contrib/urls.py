from django.urls import include, path
from django_otp.views import LoginView as OTPLoginView

from tests.contrib import views
from tests.urls import urlpatterns as base

urlpatterns = [
    *base,
    path("accounts/", include("allauth.urls")),
    path("_allauth/", include("allauth.headless.urls")),
    path("otp/login/", OTPLoginView.as_view(), name="otp_login"),
    path("otp/protected/", views.protected, name="otp_protected"),
    path("", include("django_flashcall.contrib.two_factor.urls")),
]
