"""Telling a person how their request goes: received, extended, refused, completed (in Chinese).

Sent by a task after commit (`requests.notify`); what was sent is on the portal's request page anyway.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy

from consent.messaging import subject_tell

REQUEST_MESSAGES = {
    "received": (
        gettext_lazy("We received your request %(ref)s"),
        gettext_lazy("We will answer by %(due)s. Follow it on the portal: %(url)s"),
    ),
    "extended": (
        gettext_lazy("Your request %(ref)s needs more time"),
        gettext_lazy("New date: %(due)s. Reason: %(reason)s. Details on the portal: %(url)s"),
    ),
    "refused": (
        gettext_lazy("Your request %(ref)s was refused"),
        gettext_lazy(
            "Reason: %(reason)s. You may complain to the cyberspace administration or other authorities that protect "
            "personal information, or sue in a people's court (PIPL Art 50). Details on the portal: %(url)s"
        ),
    ),
    "completed": (gettext_lazy("Your request %(ref)s is complete"), gettext_lazy("Details on the portal: %(url)s")),
}


def request_send(request, event: str) -> bool:
    subject_line, body = REQUEST_MESSAGES[event]
    url = f"{settings.FACERIGHTS_BASE_URL}/me/requests/{request.reference}/"
    with translation.override("zh-hans"):
        return subject_tell(
            request.subject,
            subject_line=str(subject_line) % {"ref": request.reference},
            body=str(body)
            % {
                "due": request.due_on.isoformat(),
                "reason": request.extension_reason if event == "extended" else request.refusal_text,
                "url": url,
            },
        )
