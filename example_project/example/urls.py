from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon),
    path("profile/", views.profile, name="profile"),
    path("logout/", LogoutView.as_view(), name="logout"),  # POST only
    path("i18n/", include("django.conf.urls.i18n")),  # the language switcher
    path("accounts/phone/", include("django_flashcall.urls")),  # HTML login
    path("api/flashcall/", include("django_flashcall.api.urls")),  # JSON API
    path("api/me/", views.me, name="api-me"),  # who the API client is (session or token)
    path("admin/", admin.site.urls),
]
