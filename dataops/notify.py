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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.services import subject_identifiers
from facerights.celery import enqueue
from facerights.sms import SmsError, sms_send

logger = logging.getLogger(__name__)


def subject_tell(subject, *, subject_line: str, body: str) -> bool:
    """Send a message to the subject's email, else their phone. False when there is no way to reach them."""
    if subject.shredded_at is not None:
        return False
    identifiers = dict(subject_identifiers(subject))
    if "email" in identifiers:
        send_mail(subject_line, body, None, [identifiers["email"]])
        return True
    if "phone" in identifiers:
        try:
            sms_send(identifiers["phone"], f"{subject_line} {body}")
        except SmsError:
            logger.warning("no SMS gateway accepted the message for subject %s", subject.pk)
            return False
        return True
    return False


def escalation_notify(propagation_id: int) -> None:
    from .tasks import notify_escalation_task

    enqueue(notify_escalation_task, propagation_id)


def deletions_completed_notify(deletion_ids: list[int]) -> None:
    from .tasks import notify_deletions_completed_task

    for start in range(0, len(deletion_ids), 500):
        enqueue(notify_deletions_completed_task, deletion_ids[start : start + 500])


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


def request_notify(request_id: int, event: str) -> None:
    from .tasks import notify_request_task

    enqueue(notify_request_task, request_id, event)


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


def notice_change_notify(sender=None, notice_id: int | None = None, **kwargs) -> None:
    from .tasks import notify_notice_changed_task

    if notice_id is not None:
        enqueue(notify_notice_changed_task, notice_id)


def notice_changed_send(notice) -> int:
    """Tell everyone whose current consent rests on an earlier version of this system's notice."""
    from consent.models import ConsentRecord

    records = (
        ConsentRecord.objects.filter(
            system_id=notice.system_id, state__in=["active", "needs_reconsent"], notice__version__lt=notice.version
        )
        .select_related("subject")
        .order_by("subject_id")
    )
    told = 0
    url = f"{settings.FACERIGHTS_BASE_URL}/rules/{notice.system_id}/"
    with translation.override("zh-hans"):
        for record in records:
            told += subject_tell(
                record.subject,
                subject_line=_("The notice of %(system)s has changed") % {"system": record.system.name_zh},
                body=_(
                    "Version %(version)s is published. Read what changed, and withdraw your consent if you wish: %(url)s"
                )
                % {"version": notice.version, "url": url},
            )
    return told
