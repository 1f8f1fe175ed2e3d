"""Admin screens: the call log (read-only), phones, and a monitoring page.

What staff may see: the code is never stored and its hash is never shown;
phones are masked but for users with the ``change_callattempt`` permission
("may see full phones and act on attempts"). The provider's token appears
nowhere: provider errors are our own words, passed through ``redact``.
"""

from .attempts import CallAttemptAdmin
from .phones import PhoneNumberAdmin, PhoneNumberInline, add_phone_inline

__all__ = ["CallAttemptAdmin", "PhoneNumberAdmin", "PhoneNumberInline", "add_phone_inline"]
