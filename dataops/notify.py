"""Telling people: the subject (email or SMS, in their language) and the DPO.

Messages name the request's reference and link to the portal; they never
carry a face, a key or another person's data. Sending happens in Celery tasks
after commit; what was sent is visible on the portal's status page anyway.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from consent.services import subject_identifiers

logger = logging.getLogger(__name__)


def mask_phone(phone: str) -> str:
    return phone[:-8] + "****" + phone[-4:] if len(phone) > 8 else "****"


class LogSmsBackend:
    """Development backend: writes that a message would be sent, with the number masked."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(phone), text)


def sms_backend():
    return import_string(settings.FACERIGHTS_SMS_BACKEND)()


def subject_tell(subject, *, subject_line: str, body: str) -> bool:
    """Send a message to the subject's email, else their phone. False when there is no way to reach them."""
    if subject.shredded_at is not None:
        return False
    identifiers = dict(subject_identifiers(subject))
    if "email" in identifiers:
        send_mail(subject_line, body, None, [identifiers["email"]])
        return True
    if "phone" in identifiers:
        sms_backend().send(identifiers["phone"], f"{subject_line} {body}")
        return True
    return False


def escalation_notify(propagation_id: int) -> None:
    from .tasks import notify_escalation_task

    notify_escalation_task.delay(propagation_id)


def deletions_completed_notify(deletion_ids: list[int]) -> None:
    from .tasks import notify_deletions_completed_task

    for start in range(0, len(deletion_ids), 500):
        notify_deletions_completed_task.delay(deletion_ids[start : start + 500])


def _status_url(deletion) -> str:
    return f"{settings.FACERIGHTS_BASE_URL}/requests/{deletion.reference}/"


def escalation_send(propagation) -> None:
    deletion = propagation.deletion_request
    entity = propagation.system.entity
    with translation.override("zh-hans"):
        send_mail(
            _("Deletion %(ref)s escalated: %(system)s")
            % {"ref": deletion.reference, "system": propagation.system.name_zh},
            _(
                "The deletion %(ref)s has not been confirmed by %(system)s (%(reason)s). "
                "Deadline: %(deadline)s. Open the request queue in the admin to act on it."
            )
            % {
                "ref": deletion.reference,
                "system": propagation.system.name_zh,
                "reason": propagation.last_error or _("past its deadline"),
                "deadline": propagation.deadline.isoformat(),
            },
            None,
            [entity.dpo_email],
        )
        subject_tell(
            deletion.subject,
            subject_line=_("Your deletion %(ref)s is delayed") % {"ref": deletion.reference},
            body=_("One system has not confirmed yet; our data-protection officer is following it up: %(url)s")
            % {"url": _status_url(deletion)},
        )


def deletion_completed_send(deletion) -> None:
    with translation.override("zh-hans"):
        subject_tell(
            deletion.subject,
            subject_line=_("Your deletion %(ref)s is complete") % {"ref": deletion.reference},
            body=_("Every system has confirmed. Your deletion certificate: %(url)s") % {"url": _status_url(deletion)},
        )
