from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/flashcall/", include("django_flashcall.api.urls")),
    path("accounts/phone/", include("django_flashcall.urls")),
]
