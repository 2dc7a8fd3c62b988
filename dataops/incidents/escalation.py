"""Telling the DPO and the legal representative's contact: when an incident opens, as its report nears, when it passes.

Each step is claimed on the incident's row before anything is sent, so it goes out once
however many sweeps run; a send that fails releases its claim and the next sweep tries
again. Only the most urgent step due is sent (an incident recorded after its deadline
says so, not that it opened). A drill tells the DPO only, marked as a drill.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facerights.present import moment_text
from facerights.sms import sms_send

from .deadlines import warn_at
from .models import Incident, IncidentEvent
from .services import timeline_add

logger = logging.getLogger(__name__)

# step: the claim fields it sets (the earlier steps with it)
STEPS = {
    "opened": ("told_opened_at",),
    "near": ("told_opened_at", "told_near_at"),
    "past": ("told_opened_at", "told_near_at", "told_past_at"),
}


def step_due(incident: Incident, now: dt.datetime) -> str | None:
    """The most urgent escalation due and not yet sent, if any."""
    if incident.state != Incident.State.OPEN:
        return None
    if now >= incident.report_due_at:
        return "past" if incident.told_past_at is None else None
    if now >= warn_at(incident):
        return "near" if incident.told_near_at is None else None
    return "opened" if incident.told_opened_at is None else None


def _minutes(delta: dt.timedelta) -> int:
    return max(int(-(-delta.total_seconds() // 60)), 0)


def _message(incident: Incident, step: str, now: dt.datetime) -> tuple[str, str]:
    drill = _("[DRILL] ") if incident.is_drill else ""
    left, late = _minutes(incident.report_due_at - now), _minutes(now - incident.report_due_at)
    facts = {
        "ref": incident.reference,
        "entity": incident.entity.name_zh,
        "grade": incident.get_grade_display(),
        "due": moment_text(incident.report_due_at),
        "left": left,
        "late": late,
    }
    if step == "past":
        subject = _("%(drill)sSecurity incident %(ref)s: the report is overdue") % {"drill": drill, **facts}
        body = _(
            "%(entity)s, grade %(grade)s. The report to the authority was due by %(due)s and is %(late)d minutes late. "
            "Report now (the 12387 hotline or the provincial platform) and record it on the incident in the admin."
        )
    elif step == "near":
        subject = _("%(drill)sSecurity incident %(ref)s: %(left)d minutes left to report") % {"drill": drill, **facts}
        body = _(
            "%(entity)s, grade %(grade)s. The report to the authority is due by %(due)s, in %(left)d minutes. "
            "Record it on the incident in the admin once sent."
        )
    else:
        subject = _("%(drill)sSecurity incident %(ref)s opened: report due by %(due)s") % {"drill": drill, **facts}
        body = _(
            "%(entity)s, grade %(grade)s. The clock started at discovery: the report to the authority is due by "
            "%(due)s, in %(left)d minutes. Open the incident in the admin."
        )
    return subject, body % facts


# The escalation SMS, from a template registered with the gateway (docs/sms.md): its few parameters.
SMS_STEP = {"opened": "已登记", "near": "报告即将到期", "past": "报告已逾期"}


def _sms(incident: Incident, step: str, phone: str) -> None:
    params = {
        "company": incident.entity.name_zh,
        "ref": ("[演练]" if incident.is_drill else "") + incident.reference,
        "step": SMS_STEP[step],
        "due": timezone.localtime(incident.report_due_at).strftime("%m-%d %H:%M"),
    }
    sms_send(phone, "incident_escalation", params)


def _recipients(incident: Incident) -> tuple[list[str], list[str], list[str]]:
    """(emails, phones, who for the timeline: "dpo", "contact")."""
    entity = incident.entity
    emails, phones, who = [entity.dpo_email], [entity.dpo_phone] if entity.dpo_phone else [], ["dpo"]
    if not incident.is_drill and (entity.incident_contact_email or entity.incident_contact_phone):
        emails += [entity.incident_contact_email] if entity.incident_contact_email else []
        phones += [entity.incident_contact_phone] if entity.incident_contact_phone else []
        who.append("contact")
    return [e for e in emails if e], phones, who


def incident_escalate(*, incident_id: int, now: dt.datetime | None = None) -> str | None:
    """Send the escalation due for one incident, once; returns the step sent."""
    now = now or timezone.now()
    incident = Incident.objects.select_related("entity").filter(pk=incident_id).first()
    if incident is None:
        return None
    step = step_due(incident, now)
    if step is None:
        return None
    fields = STEPS[step]
    claimed = Incident.objects.filter(
        pk=incident.pk, state=Incident.State.OPEN, **{f"{STEPS[step][-1]}__isnull": True}
    ).update(**dict.fromkeys(fields, now))
    if not claimed:
        return None  # another sweep sent it
    emails, phones, who = _recipients(incident)
    with translation.override("zh-hans"):
        subject, body = _message(incident, step, now)
    try:
        send_mail(subject, body, None, emails)
    except Exception:
        Incident.objects.filter(pk=incident.pk).update(**{fields[-1]: None})
        logger.exception(
            "incident %s: the %s escalation could not be sent; the next sweep tries again", incident.pk, step
        )
        return None
    # The email went: an SMS that fails (a landline, a gateway down) is recorded, not sent
    # again with the email each minute.
    sms_failed = 0
    for phone in phones:
        try:
            _sms(incident, step, phone)
        except Exception:
            sms_failed += 1
            logger.warning("incident %s: an escalation SMS was not accepted", incident.pk)
    timeline_add(
        incident,
        actor="system",
        kind=IncidentEvent.Kind.ESCALATED,
        data={"step": step, "who": who, "sms": len(phones) > sms_failed, "sms_failed": sms_failed},
        at=now,
    )
    return step


def incidents_escalate_due(now: dt.datetime | None = None) -> int:
    """Every open incident's due escalation (beat, every minute); returns how many were sent."""
    now = now or timezone.now()
    sent = 0
    for incident_id in Incident.objects.filter(state=Incident.State.OPEN).values_list("pk", flat=True):
        sent += incident_escalate(incident_id=incident_id, now=now) is not None
    return sent
