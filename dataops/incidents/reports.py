"""The report to the authority: its facts, frozen, fingerprinted and signed, as a PDF in Chinese.

Three kinds, in the order the reporting measures describe: the first report, follow-ups as
the facts come in, and the closing report with the root cause and the review. Each
generation is a new version of its kind; the one sent is marked with its time and channel,
and never changes after.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facerights import signing
from facerights.audit import audit_record
from facerights.pdf import html_to_pdf
from facerights.present import choices_text, date_text, moment_text

from .affected import affected_count
from .models import Incident, IncidentReport, NoticeDelivery
from .services import incident_report_record
from .timeline import event_text


def report_facts(incident: Incident, kind: str, *, now: dt.datetime) -> dict:
    """Everything the report states, as text a reader of Chinese reads (no one's personal data)."""
    entity = incident.entity
    counts = affected_count(incident)
    systems = list(incident.systems.order_by("name_zh"))
    with translation.override("zh-hans"):
        facts = {
            "kind": kind,
            "as_of": moment_text(now, "zh"),
            "reference": incident.reference,
            "drill": incident.is_drill,
            "entity": entity.name_zh,
            "credit_code": entity.credit_code,
            "legal_representative": entity.legal_representative,
            "dpo": f"{entity.dpo_name} {entity.dpo_email} {entity.dpo_phone}".strip(),
            "grade": incident.get_grade_display(),
            "critical_infrastructure": incident.critical_infrastructure,
            "discovered_at": moment_text(incident.discovered_at, "zh"),
            "report_due_at": moment_text(incident.report_due_at, "zh"),
            "summary": incident.summary,
            "systems": [s.name_zh for s in systems] or [_("not known yet")],
            "processors": sorted(
                {s.counterparty_name for s in systems if s.counterparty_name}
                | ({incident.other_parties} if incident.other_parties else set())
            ),
            "sites": [s.name_zh for s in incident.sites.order_by("name_zh")],
            "data_kinds": choices_text(Incident.DataKind, incident.data_kinds, "zh"),
            "affected": (
                {
                    "total": counts.total,
                    "adults": counts.adults,
                    "children": counts.children,
                    "unknown": counts.age_unknown,
                }
                if counts
                else None
            ),
            "cause": incident.cause,
            "measures": incident.measures,
            "notified": NoticeDelivery.objects.filter(notice__incident=incident, state=NoticeDelivery.State.SENT)
            .exclude(channel=NoticeDelivery.Channel.PORTAL)
            .count(),
            "timeline": [[moment_text(e.at, "zh"), e.get_kind_display(), event_text(e)] for e in incident.events.all()],
            "root_cause": incident.root_cause if kind == IncidentReport.Kind.CLOSING else "",
            "review": incident.review if kind == IncidentReport.Kind.CLOSING else "",
            "corrective_actions": [
                [a.action, a.owner, date_text(a.due_on, "zh"), date_text(a.done_on, "zh") if a.done_on else ""]
                for a in incident.actions.all()
            ],
        }
    return facts


def report_generate(*, actor: str, incident: Incident, kind: str, now: dt.datetime | None = None) -> IncidentReport:
    """A new version of the report of this kind, frozen: facts, fingerprint, signature, PDF."""
    now = now or timezone.now()
    if kind == IncidentReport.Kind.CLOSING and incident.state != Incident.State.CLOSED:
        raise ValidationError(_("The closing report follows the closing of the incident, with its root cause."))
    if kind == IncidentReport.Kind.FOLLOW_UP and not incident.reports.filter(sent_at__isnull=False).exists():
        raise ValidationError(_("A follow-up report follows a first report that was sent."))
    facts = report_facts(incident, kind, now=now)
    fingerprint = hashlib.sha256(
        json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    signature = signing.sign("incident_report", fingerprint)
    with translation.override("zh-hans"):
        html = render_to_string(
            "dataops/incident_report.html",
            {
                "facts": facts,
                "title": dict(IncidentReport.Kind.choices)[kind],
                "fingerprint": fingerprint,
                "signature": signature,
                "verify_url": signing.verify_url(),
            },
        )
    pdf = html_to_pdf(html)
    with transaction.atomic():
        version = (incident.reports.filter(kind=kind).aggregate(n=Max("version"))["n"] or 0) + 1
        report = IncidentReport.objects.create(
            incident=incident,
            kind=kind,
            version=version,
            facts=facts,
            fingerprint=fingerprint,
            signature=signature,
            pdf=pdf,
            generated_at=now,
            generated_by=actor,
        )
        audit_record(
            actor=actor,
            action="incident_report.generated",
            target=incident,
            data={"kind": kind, "version": version, "sha256": fingerprint},
        )
    return report


def report_sent(*, actor: str, report: IncidentReport, sent_at: dt.datetime, through: str) -> IncidentReport:
    """Record when and how this version was sent; once. A first report sent also records the incident's report."""
    if not through.strip():
        raise ValidationError(_("Say how it was sent (the 12387 hotline, the provincial platform, a letter)."))
    with transaction.atomic():
        report = IncidentReport.objects.select_for_update().select_related("incident").get(pk=report.pk)
        if report.sent_at is not None:
            raise ValidationError(_("This report's sending is already recorded; it cannot change."))
        if sent_at < report.generated_at - dt.timedelta(minutes=2) or sent_at > timezone.now() + dt.timedelta(
            minutes=2
        ):
            raise ValidationError(_("A report is sent after it is generated, and not in the future."))
        report.sent_at, report.sent_through = sent_at, through.strip()
        report.save(update_fields=["sent_at", "sent_through"])
        audit_record(
            actor=actor,
            action="incident_report.sent",
            target=report.incident,
            data={"kind": report.kind, "version": report.version},
        )
    if report.kind == IncidentReport.Kind.INITIAL and report.incident.state == Incident.State.OPEN:
        incident_report_record(actor=actor, incident=report.incident, reported_at=sent_at, channel=report.sent_through)
    return report
