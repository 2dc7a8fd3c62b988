"""Telling a data subject something: by email, else by text message, in Chinese.

Messages name a reference and link to the portal; they never carry a face, a
system's key or another person's data. They are sent by tasks after commit.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from facerights.sms import SmsError, sms_send

from .models import ConsentRecord, Notice
from .services import subject_identifiers

logger = logging.getLogger(__name__)


def subject_tell(subject, *, subject_line: str, body: str, sms: tuple[str, dict[str, str]]) -> bool:
    """Send a message to the subject's email, else their phone. False when there is no way to reach them.

    `sms` is the registered template (`facerights.sms.TEMPLATES`) and its parameters that say the
    same in a few words with a link: gateways accept nothing else.
    """
    if subject.shredded_at is not None:
        return False
    identifiers = dict(subject_identifiers(subject))
    if "email" in identifiers:
        send_mail(subject_line, body, None, [identifiers["email"]])
        return True
    if "phone" in identifiers:
        try:
            sms_send(identifiers["phone"], *sms)
        except SmsError:
            logger.warning("no SMS gateway accepted the message for subject %s", subject.pk)
            return False
        return True
    return False


def notice_changed_send(notice: Notice) -> int:
    """Tell everyone whose current consent rests on an earlier version of this system's notice."""
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
                sms=(
                    "notice_changed",
                    {"company": record.system.entity.name_zh, "system": record.system.name_zh, "url": url},
                ),
            )
    return told


def came_of_age_send(records: list[ConsentRecord]) -> int:
    """Tell each young person whose guardian's consent now needs their own confirmation, and the guardian."""
    told = 0
    url = f"{settings.FACERIGHTS_BASE_URL}/me/consents/"
    with translation.override("zh-hans"):
        for record in records:
            system, company = record.system.name_zh, record.system.entity.name_zh
            told += subject_tell(
                record.subject,
                subject_line=_("Your consent to %(system)s is now yours to give") % {"system": system},
                body=_(
                    "You are over 14: your guardian's consent to face recognition by %(system)s needs your own "
                    "confirmation. Until you confirm it, the system does not recognise you; use its other way "
                    "in. Confirm or decline: %(url)s"
                )
                % {"system": system, "url": url},
                sms=("consent_own", {"company": company, "system": system, "status": "现在需要您本人确认", "url": url}),
            )
            if record.guardian is not None:
                told += subject_tell(
                    record.guardian,
                    subject_line=_("The consent you gave to %(system)s now needs the young person's own")
                    % {"system": system},
                    body=_(
                        "The person you consented for is now over 14 and decides for themself: we have asked "
                        "them to confirm. Details: %(url)s"
                    )
                    % {"url": url},
                    sms=(
                        "consent_own",
                        {"company": company, "system": system, "status": "现在由年满十四周岁的本人确认", "url": url},
                    ),
                )
    return told
