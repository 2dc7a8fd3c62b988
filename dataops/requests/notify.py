"""Telling a person how their request goes: received, extended, refused, completed (in Chinese).

Sent by a task after commit (`requests.notify`); what was sent is on the portal's request page anyway.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.messaging import subject_tell
from facerights.present import due_text, moment_text
from facerights.sms import sms_signature

from ..registry.models import LegalEntity

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
    "due_changed": (
        gettext_lazy("The date for your request %(ref)s has changed"),
        gettext_lazy(
            "The holiday schedule for next year is now published, so the working days are known: "
            "we will answer by %(due)s. Details on the portal: %(url)s"
        ),
    ),
}


# The same news in a text message's few words (the registered template "request_update").
SMS_STATUS = {
    "received": "已受理",
    "extended": "需要延期答复",
    "refused": "未予办理，理由及救济途径见详情",
    "completed": "已办结",
    "due_changed": "的答复日期已更新",
}


def request_send(request, event: str) -> bool:
    subject_line, body = REQUEST_MESSAGES[event]
    url = f"{settings.FACERIGHTS_BASE_URL}/me/requests/{request.reference}/"
    entity = request.entity or (request.system.entity if request.system else None)
    company = entity.name_zh if entity is not None else sms_signature()
    sms = ("request_update", {"company": company, "ref": request.reference, "status": SMS_STATUS[event], "url": url})
    with translation.override("zh-hans"):
        return subject_tell(
            request.subject,
            subject_line=str(subject_line) % {"ref": request.reference},
            body=str(body)
            % {
                "due": due_text(request.due, "zh"),
                "reason": request.extension_reason if event == "extended" else request.refusal_text,
                "url": url,
            },
            sms=sms,
        )


def dpo_alert_send(request) -> int:
    """Tell the DPO that a request has used two thirds of its time (its entity's DPO, else every DPO)."""
    addresses = (
        [request.system.entity.dpo_email]
        if request.system
        else sorted(set(LegalEntity.objects.values_list("dpo_email", flat=True)))
    )
    with translation.override("zh-hans"):
        return send_mail(
            _("Request %(ref)s has used two thirds of its time") % {"ref": request.reference},
            _("%(type)s, received %(received)s, due %(due)s. Open the request queue in the admin to answer it.")
            % {
                "type": request.get_type_display(),
                "received": moment_text(request.received_at, "zh"),
                "due": due_text(request.due, "zh"),
            },
            None,
            addresses,
        )
