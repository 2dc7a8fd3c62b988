"""Text messages: one small interface, a development backend, and the place a gateway plugs in.

A backend is a class with `send(phone: str, text: str) -> None` that raises
SmsError when the message was not accepted. Set FACERIGHTS_SMS_BACKEND to its
dotted path. A Chinese gateway (Aliyun SMS, Tencent Cloud SMS, ...) needs
templates approved in advance: map the text to the template there. See
docs/sms.md.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsError(Exception):
    pass


def mask_phone(phone: str) -> str:
    """+8613800138000 -> +86138****8000: enough to tell messages apart, not to call anyone."""
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


class LogSmsBackend:
    """Development backend: writes that a message would be sent, with the number masked.

    The text itself is written only with DEBUG on (it may carry a one-time
    code); in production this backend refuses to pretend anything was sent.
    """

    def send(self, phone: str, text: str) -> None:
        if not settings.DEBUG:
            raise SmsError("LogSmsBackend sends nothing: set FACERIGHTS_SMS_BACKEND to a real gateway.")
        logger.warning("SMS to %s: %s", mask_phone(phone), text)


class MemorySmsBackend:
    """Test backend: keeps the messages in `outbox`."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        MemorySmsBackend.outbox.append((phone, text))


def sms_send(phone: str, text: str) -> None:
    import_string(settings.FACERIGHTS_SMS_BACKEND)().send(phone, text)


def sms_send_template(phone: str, *, template: str, params: dict[str, str], text: str) -> None:
    """A message a gateway sends only from a template approved in advance (docs/sms.md lists them).

    A backend with `send_template(phone, template, params)` gets the template's name and its
    few parameters; any other gets `text`, the template filled in.
    """
    backend = import_string(settings.FACERIGHTS_SMS_BACKEND)()
    if hasattr(backend, "send_template"):
        backend.send_template(phone, template, params)
    else:
        backend.send(phone, text)
