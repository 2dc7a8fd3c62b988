"""The report to the authority: a PDF of the incident's facts, each version frozen, signed, and sent once."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from dataops.incidents.models import CorrectiveAction, Incident, IncidentReport
from dataops.incidents.reports import report_generate, report_sent
from dataops.incidents.selectors import incidents_evidence
from dataops.incidents.services import corrective_action_save, incident_close, incident_save
from facerights import signing

pytestmark = pytest.mark.django_db


def _incident(entity, system) -> Incident:
    return incident_save(
        actor="test",
        incident=Incident(
            entity=entity,
            summary="门禁服务器的人脸特征导出文件被复制。",
            discovered_at=timezone.now() - dt.timedelta(minutes=12),
            grade="major",
            data_kinds=["templates"],
            cause="导出文件未加密。",
        ),
        systems=[system],
    )


def test_the_first_report_states_the_facts_signed_and_sending_it_records_the_incidents_report(
    dpo_client, entity, system
):
    incident = _incident(entity, system)
    response = dpo_client.post(
        reverse("admin:dataops_incident_changelist"), {"action": "report_initial", "_selected_action": [incident.pk]}
    )
    assert response.status_code == 302
    report = IncidentReport.objects.get(incident=incident)
    assert bytes(report.pdf).startswith(b"%PDF")
    facts = report.facts
    assert facts["reference"] == incident.reference and facts["systems"] == [system.name_zh]
    assert facts["affected"] == {"total": 0, "adults": 0, "children": 0, "unknown": 0}
    assert facts["summary"] == incident.summary and facts["grade"] == "重大"
    digest = hashlib.sha256(json.dumps(facts, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode())
    assert report.fingerprint == digest.hexdigest()
    assert signing.verify(report.fingerprint, report.signature).kind == "incident_report"
    pdf = dpo_client.get(reverse("admin:dataops_incidentreport_pdf", args=[report.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content == bytes(report.pdf)
    dpo_client.post(
        reverse("admin:dataops_incidentreport_changelist"),
        {"action": "record_sent", "_selected_action": [report.pk], "through": "12387热线，回执A-1"},
    )
    report.refresh_from_db()
    incident.refresh_from_db()
    assert report.sent_at and report.sent_through == "12387热线，回执A-1"
    assert incident.state == Incident.State.REPORTED and incident.reported_at == report.sent_at
    with translation.override("en"), pytest.raises(ValidationError, match="already recorded"):
        report_sent(actor="test", report=report, sent_at=timezone.now(), through="again")


def test_each_version_is_frozen_and_the_closing_report_waits_for_the_closing(entity, system):
    incident = _incident(entity, system)
    with pytest.raises(ValidationError, match="follow-up"):
        report_generate(actor="test", incident=incident, kind="follow_up")
    with pytest.raises(ValidationError, match="closing"):
        report_generate(actor="test", incident=incident, kind="closing")
    first = report_generate(actor="test", incident=incident, kind="initial")
    report_sent(actor="test", report=first, sent_at=timezone.now(), through="12387")
    incident.measures = "已吊销凭据。"
    incident = incident_save(actor="test", incident=incident, systems=[system])
    follow = report_generate(actor="test", incident=incident, kind="follow_up")
    assert follow.facts["measures"] == "已吊销凭据。" and first.facts.get("measures") == ""
    first.refresh_from_db()
    assert first.fingerprint != follow.fingerprint and first.sent_at is not None
    corrective_action_save(
        actor="test",
        action=CorrectiveAction(incident=incident, action="导出强制加密", owner="运维部", due_on=dt.date(2027, 1, 31)),
    )
    incident = incident_close(actor="test", incident=incident, root_cause="导出未强制加密。", review="已改为强制加密。")
    closing = report_generate(actor="test", incident=incident, kind="closing")
    assert closing.facts["root_cause"] == "导出未强制加密。" and closing.version == 1
    assert closing.facts["corrective_actions"] == [["导出强制加密", "运维部", "2027年1月31日", ""]]
    again = report_generate(actor="test", incident=incident, kind="closing")
    assert again.version == 2


def test_the_filing_bundle_carries_the_entitys_incidents_with_their_report_fingerprints(entity, system):
    incident = _incident(entity, system)
    report = report_generate(actor="test", incident=incident, kind="initial")
    report_sent(actor="test", report=report, sent_at=timezone.now(), through="12387")
    (row,) = incidents_evidence(entity)
    assert row["reference"] == incident.reference and row["drill"] is False and row["reported_on_time"] is True
    assert row["reports"] == [
        {"kind": "initial", "version": 1, "sha256": report.fingerprint, "sent_at": row["reports"][0]["sent_at"]}
    ]
    assert row["reports"][0]["sent_at"] is not None and row["people_affected"] == 0
