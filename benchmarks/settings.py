"""Settings of the benchmark project, served by gunicorn from ``benchmarks/run.py``.

Everything that differs between runs comes from ``BENCH_*`` environment
variables that run.py sets; nothing here is meant for a real site. It is a
production-like configuration (DEBUG off, PostgreSQL with persistent
connections, Redis as the shared cache, the usual middleware) with every
django-flashcall limit raised so that none of them refuses a benchmark flow.
"""

import os

SECRET_KEY = "benchmark-only-secret-key-not-for-production"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "benchmarks.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("BENCH_PGDATABASE", "flashcall"),
        "USER": os.environ.get("BENCH_PGUSER", "postgres"),
        "HOST": os.environ.get("BENCH_PGHOST", "127.0.0.1"),
        "PORT": os.environ.get("BENCH_PGPORT", "5432"),
        # A new PostgreSQL connection per request would dominate both the app
        # and the floor; every real deployment keeps them.
        "CONN_MAX_AGE": 600,
    }
}
CACHES = {
    "default": {
        "BACKEND": (
            "django_redis.cache.RedisCache"
            if os.environ.get("BENCH_CACHE") == "django-redis"
            else "django.core.cache.backends.redis.RedisCache"
        ),
        "LOCATION": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
    }
}

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework.authtoken",
    "django_flashcall",
]
# The stack of an ordinary site; the floor views pass through it too.
MIDDLEWARE = [
    "benchmarks.urls.CountingMiddleware",
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
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django_flashcall": {"handlers": ["console"], "level": "WARNING"}},
}

# django-flashcall: the TelefonIP provider against the fake server.
FLASHCALL_PROVIDER = "django_flashcall.providers.TelefonIPProvider"
FLASHCALL_API_URL = os.environ.get("BENCH_FAKE_URL", "http://127.0.0.1:8099/api/v1/authcalls/")
FLASHCALL_API_TOKEN = os.environ.get("BENCH_FAKE_TOKEN", "fake-telefonip-token")
FLASHCALL_TIMEOUT = (2, 10)
FLASHCALL_LOGIN = os.environ.get("BENCH_LOGIN", "none")
# Limits raised so that they never refuse a flow; they are still checked.
FLASHCALL_PHONE_DAILY_LIMIT = 1_000_000
FLASHCALL_PHONE_MAX_FAILURES = 1_000_000
FLASHCALL_RESEND_COOLDOWN = 0
# The "app-budget" scenario sets a budget no run reaches: the reservation's
# cost, not refusals, is what it measures.
FLASHCALL_DAILY_BUDGET = int(os.environ["BENCH_BUDGET"]) if os.environ.get("BENCH_BUDGET") else None
FLASHCALL_RATELIMIT_REQUEST = "1000000/m"
FLASHCALL_RATELIMIT_CONFIRM = "1000000/m"

# Benchmark switches (read by benchmarks/urls.py).
BENCH_FRESH_SESSION = os.environ.get("BENCH_FRESH_SESSION") == "1"
BENCH_PROFILE_DIR = os.environ.get("BENCH_PROFILE_DIR") or None
