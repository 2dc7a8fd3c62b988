"""Telling the DPO and the person about a deletion: escalated (late or failing), and complete.

Sent by tasks after commit; the portal's status page shows the same thing live.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.translation import gettext as _

from consent.messaging import subject_tell
from facerights.present import date_text
from facerights.sms import sms_signature


def _status_url(deletion) -> str:
    return f"{settings.FACERIGHTS_BASE_URL}/requests/{deletion.reference}/"


def _company(deletion) -> str:
    """The company an SMS about this instruction is signed with."""
    first = deletion.propagations.select_related("system__entity").first()
    return first.system.entity.name_zh if first is not None else sms_signature()


def _sms(deletion, status: str) -> tuple[str, dict[str, str]]:
    return "deletion_update", {
        "company": _company(deletion),
        "ref": deletion.reference,
        "status": status,
        "url": _status_url(deletion),
    }


def escalation_send(propagation, *, dpo: bool = True, subject: bool = True) -> None:
    """Tell the DPO an instruction needs a person (failed, or late); tell the person only when it is late."""
    deletion = propagation.deletion_request
    entity = propagation.system.entity
    if deletion.subject.is_synthetic:  # a connection test: no one's data, and said so
        if dpo:
            _test_failed_send(propagation, entity.dpo_email)
        return
    with translation.override("zh-hans"):
        if dpo:
            _escalation_dpo_send(propagation, entity.dpo_email)
        if subject:
            subject_tell(
                deletion.subject,
                subject_line=(
                    _("Your deletion %(ref)s is delayed")
                    if deletion.action == deletion.Action.DELETE
                    else _("The restriction you asked for (%(ref)s) is delayed")
                )
                % {"ref": deletion.reference},
                body=_("One system has not confirmed yet; our data-protection officer is following it up: %(url)s")
                % {"url": _status_url(deletion)},
                sms=_sms(deletion, "尚有系统未确认，负责人正在跟进"),
            )


def _test_failed_send(propagation, dpo_email: str) -> None:
    with translation.override("zh-hans"):
        send_mail(
            _("Connection test of %(system)s failed") % {"system": propagation.system.name_zh},
            _(
                "The test deletion sent to %(system)s was not confirmed (%(reason)s). This was a connection "
                "test with a synthetic key: no person's data is involved, and no one else was told. Fix the "
                "system's configuration, then run the test again from the processing system's page."
            )
            % {
                "system": propagation.system.name_zh,
                "reason": propagation.last_error or _("past its deadline"),
            },
            None,
            [dpo_email],
        )


def _escalation_dpo_send(propagation, dpo_email: str) -> None:
    deletion = propagation.deletion_request
    send_mail(
        _("Deletion %(ref)s escalated: %(system)s") % {"ref": deletion.reference, "system": propagation.system.name_zh},
        _(
            "The deletion %(ref)s has not been confirmed by %(system)s (%(reason)s). "
            "Deadline: %(deadline)s. Open the request queue in the admin to act on it."
        )
        % {
            "ref": deletion.reference,
            "system": propagation.system.name_zh,
            "reason": propagation.last_error or _("past its deadline"),
            "deadline": date_text(propagation.deadline, "zh"),
        },
        None,
        [dpo_email],
    )


def deletion_completed_send(deletion) -> None:
    if deletion.action != deletion.Action.DELETE:
        _restriction_reached_send(deletion)
        return
    with translation.override("zh-hans"):
        subject_tell(
            deletion.subject,
            subject_line=_("Your deletion %(ref)s is complete") % {"ref": deletion.reference},
            body=_("Every system has confirmed. Your deletion certificate: %(url)s") % {"url": _status_url(deletion)},
            sms=_sms(deletion, "已完成，删除证明可在详情中下载"),
        )


def _restriction_reached_send(instruction) -> None:
    """Every system answered a restriction (or its lifting): the person's request says how each did."""
    request = instruction.request
    url = f"{settings.FACERIGHTS_BASE_URL}/me/requests/{request.reference}/" if request else _status_url(instruction)
    lifted = instruction.action == instruction.Action.LIFT_RESTRICTION
    with translation.override("zh-hans"):
        subject_tell(
            instruction.subject,
            subject_line=(
                _("The restriction you asked for (%(ref)s) is lifted at every system")
                if lifted
                else _("The restriction you asked for (%(ref)s) has reached every system")
            )
            % {"ref": request.reference if request else instruction.reference},
            body=_("Every system holding your facial data has answered; how each did: %(url)s") % {"url": url},
            sms=(
                "request_update",
                {
                    "company": _company(instruction),
                    "ref": request.reference if request else instruction.reference,
                    "status": "已解除限制，各系统均已确认" if lifted else "已送达各系统，处理已限制",
                    "url": url,
                },
            ),
        )
