"""Django settings for building the documentation (autodoc imports models)."""

SECRET_KEY = "docs-only"  # noqa: S105
USE_TZ = True
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "rest_framework",
    "django_flashcall",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FLASHCALL_PROVIDER = "django_flashcall.providers.SandboxProvider"
