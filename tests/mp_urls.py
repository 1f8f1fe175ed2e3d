"""URLconf of the gunicorn processes of ``tests/test_multiprocess.py``, and their
WSGI entry point (``tests.mp_urls:application``).

Both in one module so that with ``--preload`` the gunicorn master imports
Django, DRF, the app and these URLs once, before it forks: a worker answers
its first request without importing anything, and a test starts faster.
"""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()

from django.urls import include, path  # noqa: E402  (after django.setup())

urlpatterns = [path("api/flashcall/", include("django_flashcall.api.urls"))]
