"""two-factor's setup wizard, able to finish the ``flashcall`` method.

two-factor's ``SetupView.done()`` knows its built-in methods by name and
fails on any other, and it places the challenge only before a step named
``validation``. This subclass does both for ``flashcall`` and leaves every
other method to two-factor.
"""

from __future__ import annotations

from typing import Any

import django_otp
from django.http import HttpResponse
from django.shortcuts import redirect
from two_factor.views import SetupView

from .method import CODE_STEP, FlashCallMethod


class FlashCallSetupView(SetupView):
    template_name = "django_flashcall/two_factor/setup.html"

    def _is_flashcall(self) -> bool:
        try:
            return isinstance(self.get_method(), FlashCallMethod)
        except LookupError:  # no method chosen yet
            return False

    def render_next_step(self, form: Any, **kwargs: Any) -> HttpResponse:
        if self.steps.next == CODE_STEP and self._is_flashcall():
            device = self.get_device()
            before = device.attempt_id
            kwargs["challenge_message"] = device.generate_challenge()
            kwargs["challenge_succeeded"] = device.attempt_id not in (None, before)
            # SetupView's own render_next_step would ask for a second call.
            return super(SetupView, self).render_next_step(form, **kwargs)
        return super().render_next_step(form, **kwargs)

    def done(self, form_list: Any, **kwargs: Any) -> HttpResponse:
        if not self._is_flashcall():
            return super().done(form_list, **kwargs)
        device = self.get_device()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        django_otp.login(self.request, device)
        return redirect(self.get_success_url())
