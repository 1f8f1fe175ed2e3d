"""Settings of the demo site.

Out of the box: DEBUG, SQLite (``db.sqlite3`` here), a local-memory cache and
the SandboxProvider, which places no real call and shows the simulated
caller on the code page. Environment variables switch it to a real setup:

=============================== =======================================================
``DEBUG``                       ``1`` (default) or ``0``
``SECRET_KEY``                  required when ``DEBUG=0``
``ALLOWED_HOSTS``               comma-separated (default: localhost only)
``SECURE_SSL_REDIRECT``         with ``DEBUG=0``: ``1`` (default) redirects to HTTPS
``SECURE_HSTS_SECONDS``         with ``DEBUG=0``: HSTS max-age (default 3600)
``SECURE_PROXY_SSL_HEADER``     ``1`` behind a proxy that ends TLS (X-Forwarded-Proto)
``FLASHCALL_EXAMPLE_DB``        ``postgres``: PostgreSQL from ``PGHOST``, ``PGPORT``,
                                ``PGDATABASE``, ``PGUSER``, ``PGPASSWORD``; otherwise
                                SQLite at ``FLASHCALL_EXAMPLE_SQLITE`` (``db.sqlite3``)
``REDIS_URL``                   ``redis://127.0.0.1:6379/0``: a shared cache, so the
                                limits hold across processes
``FLASHCALL_PROVIDER``          ``django_flashcall.providers.TelefonIPProvider``
                                for real calls (default: the SandboxProvider)
``FLASHCALL_API_TOKEN``         the telefon-ip.ru token
``FLASHCALL_API_URL``           the provider's base URL
``FLASHCALL_SMS_FALLBACK``      ``1`` to offer the SMS fallback
``FLASHCALL_RESEND_COOLDOWN``   seconds before "call me again" (default 60)
``FLASHCALL_LOGIN``             ``token`` for the API's token mode (default ``session``)
``FLASHCALL_RATELIMIT_REQUEST`` calls per IP address (default ``10/h``)
``FLASHCALL_DAILY_BUDGET``      calls a day for the whole site (default 500)
``FLASHCALL_CHALLENGE``         ``django_flashcall.testing.challenge.arithmetic``
                                shows the pumping guards' challenge (a toy)
``FLASHCALL_RANGE_RISK``        unanswered calls that make a number range ask
                                for it (default 3)
=============================== =======================================================
"""

import os
from pathlib import Path

import django
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


DEBUG = env_flag("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY in the environment when DEBUG is off.")
    SECRET_KEY = "django-insecure-flashcall-example-dev-only"  # noqa: S105  (DEBUG only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # FLASHCALL_LOGIN=token
    "django_flashcall",
    "example",
]
try:  # the OpenAPI schema at api/flashcall/schema/
    import drf_spectacular  # noqa: F401
except ImportError:  # pragma: no cover
    pass
else:
    INSTALLED_APPS.append("drf_spectacular")
    # drf-spectacular's schema class for the site's own DRF views too (its
    # check E001 generates a schema of every view).
    REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Searched before the apps: this is how the demo overrides the app's
        # templates (templates/django_flashcall/*.html).
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("FLASHCALL_EXAMPLE_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "flashcall_example"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "PASSWORD": os.environ.get("PGPASSWORD", ""),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("FLASHCALL_EXAMPLE_SQLITE") or BASE_DIR / "db.sqlite3",
            # runserver answers each request in a thread. By default SQLite
            # gives up at once on a write lock ("database is locked", a 500)
            # when a burst of confirms arrives together: wait for the lock
            # instead, and take it when the transaction starts (a transaction
            # that only upgrades its read lock later cannot wait for it).
            "OPTIONS": {"timeout": 20},
        }
    }
    if django.VERSION >= (5, 1):
        DATABASES["default"]["OPTIONS"].update(
            transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL;"
        )

if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTHENTICATION_BACKENDS = [
    "django_flashcall.auth_backends.FlashCallBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "flashcall:login"
LOGIN_REDIRECT_URL = "profile"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
USE_I18N = True
LOCALE_PATHS = [BASE_DIR / "locale"]  # the demo's own strings; the app ships its own
USE_TZ = True
TIME_ZONE = "Europe/Moscow"

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if not DEBUG:
    SESSION_COOKIE_SECURE = env_flag("SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
    # HTTPS only, so `manage.py check --deploy` is clean. Behind a proxy that
    # ends TLS, set SECURE_PROXY_SSL_HEADER=1 and have it send X-Forwarded-Proto.
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", True)
    # A short max-age by default limits the cost of a mistake; browsers'
    # preload lists take a site only from a year on, so raise it with care.
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS") or 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_flag("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_flag("SECURE_HSTS_PRELOAD", True)
    if env_flag("SECURE_PROXY_SSL_HEADER", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# django-flashcall
FLASHCALL_PROVIDER = os.environ.get(
    "FLASHCALL_PROVIDER", "django_flashcall.providers.SandboxProvider"
)
FLASHCALL_API_TOKEN = os.environ.get("FLASHCALL_API_TOKEN", "")
if os.environ.get("FLASHCALL_API_URL"):
    FLASHCALL_API_URL = os.environ["FLASHCALL_API_URL"]
FLASHCALL_SMS_FALLBACK = env_flag("FLASHCALL_SMS_FALLBACK", False)
FLASHCALL_RESEND_COOLDOWN = int(os.environ.get("FLASHCALL_RESEND_COOLDOWN") or 60)
# Calls one IP address may ask for (django-ratelimit's rate, e.g. "30/h").
FLASHCALL_RATELIMIT_REQUEST = os.environ.get("FLASHCALL_RATELIMIT_REQUEST") or "10/h"
# "session" (browsers) or "token" (native apps: confirm answers a DRF token).
FLASHCALL_LOGIN = os.environ.get("FLASHCALL_LOGIN") or "session"
# What a day of calls may cost at most (check W013 warns without one).
FLASHCALL_DAILY_BUDGET = int(os.environ.get("FLASHCALL_DAILY_BUDGET") or 500)
# The pumping guards' challenge (SPEC §10); off unless asked for.
FLASHCALL_CHALLENGE = os.environ.get("FLASHCALL_CHALLENGE") or None
FLASHCALL_RANGE_RISK = int(os.environ.get("FLASHCALL_RANGE_RISK") or 3)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_flashcall": {"handlers": ["console"], "level": "INFO"}},
}
