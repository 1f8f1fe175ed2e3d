"""two-factor's URLs, with the setup view that can finish the ``flashcall``
method. Include it instead of ``two_factor.urls``::

    path("", include("django_flashcall.contrib.two_factor.urls")),
"""

from two_factor.urls import urlpatterns as two_factor_urlpatterns

from .views import FlashCallSetupView

patterns, app_name = two_factor_urlpatterns

urlpatterns = [
    pattern.__class__(pattern.pattern, FlashCallSetupView.as_view(), name="setup")
    if getattr(pattern, "name", None) == "setup"
    else pattern
    for pattern in patterns
]
