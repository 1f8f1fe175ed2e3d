"""Settings of the gunicorn processes started by ``tests/test_multiprocess.py``.

A small production-like site: PostgreSQL (a database of the test's own) and
Redis as the cache, both shared by every process, the TelefonIP provider
pointed at the test's fake server, the JSON API only. Everything comes from
the environment the test gives the processes:

- ``MP_DATABASE`` (+ ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD``);
- ``MP_REDIS_URL``, ``MP_API_URL``, ``MP_API_TOKEN``;
- ``MP_FLASHCALL_<NAME>``: a JSON value for ``FLASHCALL_<NAME>``, e.g.
  ``MP_FLASHCALL_RATELIMIT_REQUEST='"5/m"'`` or ``MP_FLASHCALL_DAILY_BUDGET=4``.
"""

import json
import os

SECRET_KEY = "multiprocess-tests-only-secret-key"  # noqa: S105
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.mp_urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("MP_DATABASE", "flashcall_mp"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": os.environ.get("PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("PGPORT", "5432"),
        "PASSWORD": os.environ.get("PGPASSWORD", ""),
        "CONN_MAX_AGE": 60,
    }
}
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("MP_REDIS_URL", "redis://127.0.0.1:6379/9"),
    }
}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "django_flashcall",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "django_flashcall.auth_backends.FlashCallBackend",
    "django.contrib.auth.backends.ModelBackend",
]

FLASHCALL_PROVIDER = "django_flashcall.providers.TelefonIPProvider"
FLASHCALL_API_URL = os.environ.get("MP_API_URL", "http://127.0.0.1:9/api/v1/authcalls/")
FLASHCALL_API_TOKEN = os.environ.get("MP_API_TOKEN", "fake-telefonip-token")
FLASHCALL_TIMEOUT = (2, 5)
FLASHCALL_LOGIN = "none"

# What a test does not set is out of the way of the limit under test.
FLASHCALL_RESEND_COOLDOWN = 0
FLASHCALL_PHONE_DAILY_LIMIT = 1000
FLASHCALL_RATELIMIT_REQUEST = "1000/m"
FLASHCALL_RATELIMIT_CONFIRM = "1000/m"
FLASHCALL_BREAKER_THRESHOLD = 1000

for _name, _value in os.environ.items():
    if _name.startswith("MP_FLASHCALL_"):
        globals()[_name[3:]] = json.loads(_value)
