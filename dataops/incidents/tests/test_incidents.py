"""Security incidents (R27): opened in a minute, on the report's clock from discovery, escalated, counted, never deleted."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from dataops.incidents.affected import affected_count
from dataops.incidents.escalation import incidents_escalate_due
from dataops.incidents.models import CorrectiveAction, Incident
from dataops.incidents.services import corrective_action_save, incident_close, incident_report_record, incident_save
from dataops.incidents.timeline import event_text
from dataops.registry.models import Holding
from facerights.models import AuditEvent
from facerights.sms import MemorySmsBackend, SmsError
from tests import factories

pytestmark = pytest.mark.django_db
BEIJING = dt.timezone(dt.timedelta(hours=8))


def _form(entity, systems, *, discovered: dt.datetime, grade="general", **extra) -> dict:
    local = discovered.astimezone(BEIJING)
    data = {
        "entity": entity.pk,
        "summary": "A vendor laptop with an export of the gate system's templates was stolen.",
        "discovered_at_0": local.strftime("%Y-%m-%d"),
        "discovered_at_1": local.strftime("%H:%M:%S"),
        "grade": grade,
        "systems": [s.pk for s in systems],
        "data_kinds": ["templates"],
        "_save": "Save",
        "actions-TOTAL_FORMS": "0",
        "actions-INITIAL_FORMS": "0",
        "actions-MIN_NUM_FORMS": "0",
        "actions-MAX_NUM_FORMS": "1000",
    }
    data.update(extra)
    return data


def _open(entity, systems, *, discovered, grade="general", cii=False, drill=False, **fields) -> Incident:
    return incident_save(
        actor="test",
        incident=Incident(
            entity=entity,
            summary="Templates copied from the gate server.",
            discovered_at=discovered,
            grade=grade,
            critical_infrastructure=cii,
            data_kinds=["templates"],
            is_drill=drill,
            **fields,
        ),
        systems=systems,
    )


@pytest.fixture
def entity_with_contact(entity):
    entity.incident_contact_email = "legal.rep@example.com"
    entity.incident_contact_phone = "+8613900139000"
    entity.dpo_phone = "+8613800138000"
    entity.save()
    return entity


def test_an_operator_opens_a_major_incident_and_its_30_minute_clock_runs_from_discovery(
    operator_client, entity, system
):
    discovered = timezone.now() - dt.timedelta(minutes=10)
    response = operator_client.post(
        reverse("admin:dataops_incident_add"), _form(entity, [system], discovered=discovered, grade="major")
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    incident = Incident.objects.get()
    assert incident.report_due_at == discovered.replace(microsecond=0) + dt.timedelta(minutes=30)
    dashboard = operator_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
    assert incident.reference in dashboard
    assert dashboard.index(incident.reference) < dashboard.index('id="workbench"')  # above everything else
    assert "19 min left" in dashboard or "20 min left" in dashboard
    assert [e.kind for e in incident.events.all()] == ["opened", "reassessment"]  # major: Measures Art 9
    assert AuditEvent.objects.filter(action="incident.opened", object_id=str(incident.pk)).exists()


@pytest.mark.parametrize(
    ("grade", "cii", "minutes"),
    [
        ("general", False, 240),
        ("larger", False, 240),
        ("general", True, 60),
        ("major", False, 30),
        ("especially_major", True, 30),
    ],
)
def test_the_report_deadline_follows_the_grade_and_critical_infrastructure(entity, system, grade, cii, minutes):
    discovered = timezone.now() - dt.timedelta(minutes=1)
    incident = _open(entity, [system], discovered=discovered, grade=grade, cii=cii)
    assert incident.report_due_at == discovered + dt.timedelta(minutes=minutes)


def test_a_regrade_brings_the_deadline_forward_and_never_pushes_it_back(entity, system):
    discovered = timezone.now() - dt.timedelta(minutes=5)
    incident = _open(entity, [system], discovered=discovered)
    incident.grade = Incident.Grade.MAJOR
    incident = incident_save(actor="test", incident=incident, systems=[system])
    assert incident.report_due_at == discovered + dt.timedelta(minutes=30)
    incident.grade = Incident.Grade.GENERAL
    incident = incident_save(actor="test", incident=incident, systems=[system])
    incident.refresh_from_db()
    assert incident.report_due_at == discovered + dt.timedelta(minutes=30)
    assert [e.kind for e in incident.events.all()] == ["opened", "regraded", "reassessment", "regraded"]


def test_bad_input_is_explained_by_field_and_nothing_is_saved(operator_client, entity, system):
    other = factories.active_system(entity=factories.entity(), purpose=system.purposes.first())
    future = timezone.now() + dt.timedelta(hours=2)
    response = operator_client.post(
        reverse("admin:dataops_incident_add"),
        _form(entity, [other], discovered=future, data_kinds=[]),
    )
    errors = response.context["adminform"].form.errors
    assert set(errors) >= {"discovered_at", "data_kinds", "systems"}
    response = operator_client.post(reverse("admin:dataops_incident_add"), _form(entity, [], discovered=timezone.now()))
    assert "systems" in response.context["adminform"].form.errors
    assert not Incident.objects.exists()


def test_systems_not_known_yet_can_be_said_and_nobody_is_counted_until_they_are(operator_client, entity, system):
    response = operator_client.post(
        reverse("admin:dataops_incident_add"),
        _form(entity, [], discovered=timezone.now(), scope_unknown="on", data_kinds=["unknown"]),
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert affected_count(incident) is None
    page = operator_client.get(
        reverse("admin:dataops_incident_change", args=[incident.pk]), headers={"Accept-Language": "en"}
    ).content.decode()
    assert "Not known until the systems involved are named." in page


def test_the_clock_escalates_once_each_as_it_nears_and_when_it_passes(entity_with_contact, system):
    discovered = timezone.now()
    incident = _open(entity_with_contact, [system], discovered=discovered, grade="major")
    assert incidents_escalate_due(now=discovered + dt.timedelta(minutes=1)) == 1  # opened
    assert incidents_escalate_due(now=discovered + dt.timedelta(minutes=2)) == 0
    assert incidents_escalate_due(now=discovered + dt.timedelta(minutes=16)) == 1  # half the window gone
    assert incidents_escalate_due(now=discovered + dt.timedelta(minutes=17)) == 0
    assert incidents_escalate_due(now=discovered + dt.timedelta(minutes=31)) == 1  # past
    assert incidents_escalate_due(now=discovered + dt.timedelta(minutes=40)) == 0
    assert len(mail.outbox) == 3
    assert all(set(m.to) == {"dpo@example.com", "legal.rep@example.com"} for m in mail.outbox)
    assert all(incident.reference in m.subject for m in mail.outbox)
    phones = [phone for phone, _text in MemorySmsBackend.outbox]
    assert sorted(phones) == sorted(["+8613800138000", "+8613900139000"] * 3)
    due = timezone.localtime(incident.report_due_at).strftime("%m-%d %H:%M")
    texts = [text for _phone, text in MemorySmsBackend.outbox]
    assert all(incident.reference in text and due in text for text in texts)
    assert sum("报告已逾期" in text for text in texts) == 2
    assert [e.kind for e in incident.events.all() if e.kind != "reassessment"] == ["opened", *["escalated"] * 3]


def test_an_escalation_sms_reaches_a_template_gateway_by_its_registered_name(entity_with_contact, system, settings):
    settings.FACERIGHTS_SMS_BACKEND = "dataops.incidents.tests.test_incidents.TemplateGateway"
    TemplateGateway.sent = []
    incident = _open(entity_with_contact, [system], discovered=timezone.now(), grade="major", drill=True)
    incidents_escalate_due()
    [(phone, template, params)] = TemplateGateway.sent
    assert (phone, template) == ("+8613800138000", "incident_escalation")
    assert params == {
        "company": entity_with_contact.name_zh,
        "ref": "[演练]" + incident.reference,
        "step": "已登记",
        "due": timezone.localtime(incident.report_due_at).strftime("%m-%d %H:%M"),
    }


class TemplateGateway:
    """A gateway that, like Aliyun's or Tencent's, sends only registered templates."""

    sent: list[tuple[str, str, dict]] = []

    def send(self, phone, text):
        raise SmsError("free text is refused")

    def send_template(self, phone, template, params):
        TemplateGateway.sent.append((phone, template, params))


def test_an_incident_recorded_after_its_deadline_says_it_is_overdue_at_once(operator_client, entity, system):
    incident = _open(entity, [system], discovered=timezone.now() - dt.timedelta(minutes=45), grade="major")
    assert incidents_escalate_due() == 1
    assert len(mail.outbox) == 1
    assert incident.reference in mail.outbox[0].subject
    dashboard = operator_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
    assert "overdue by 15 min" in dashboard or "overdue by 14 min" in dashboard
    assert incidents_escalate_due() == 0


def test_a_failed_escalation_is_sent_again_by_the_next_sweep(entity, system, settings, monkeypatch):
    incident = _open(entity, [system], discovered=timezone.now(), grade="major")

    def refuse(*args, **kwargs):
        raise OSError("mail server down")

    monkeypatch.setattr("dataops.incidents.escalation.send_mail", refuse)
    assert incidents_escalate_due() == 0
    incident.refresh_from_db()
    assert incident.told_opened_at is None
    monkeypatch.undo()
    assert incidents_escalate_due() == 1
    assert len(mail.outbox) == 1


def test_a_drill_runs_its_clock_but_tells_only_the_dpo(entity_with_contact, system):
    _open(entity_with_contact, [system], discovered=timezone.now(), grade="major", drill=True)
    incidents_escalate_due()
    assert [m.to for m in mail.outbox] == [["dpo@example.com"]]
    assert [phone for phone, _ in MemorySmsBackend.outbox] == ["+8613800138000"]


def test_the_people_affected_are_exactly_those_the_systems_held_at_discovery(entity, system, purpose):
    discovered = timezone.now() - dt.timedelta(hours=1)
    before = discovered - dt.timedelta(days=30)
    adult, child, unknown = (factories.subject(phone=f"1370000000{n}") for n in (1, 2, 3))
    for person in (adult, child, unknown):
        factories.holding(person, system, enrolled_at=before)
    type(child).objects.filter(pk=child.pk).update(date_of_birth=timezone.localdate() - dt.timedelta(days=365 * 8))
    type(unknown).objects.filter(pk=unknown.pk).update(date_of_birth=None)
    factories.holding(adult, factories.active_system(entity=entity, purpose=purpose), enrolled_at=before)  # once
    bystander_elsewhere = factories.subject(phone="13700000004")
    factories.holding(bystander_elsewhere, factories.active_system(entity=entity, purpose=purpose), enrolled_at=before)
    enrolled_after = factories.subject(phone="13700000005")
    factories.holding(enrolled_after, system, enrolled_at=discovered + dt.timedelta(minutes=5))
    deleted_before = factories.subject(phone="13700000006")
    gone = factories.holding(deleted_before, system, enrolled_at=before)
    Holding.objects.filter(pk=gone.pk).update(
        status=Holding.Status.DELETED, deleted_at=discovered - dt.timedelta(days=1)
    )
    incident = _open(entity, [system], discovered=discovered)
    counts = affected_count(incident)
    assert (counts.adults, counts.children, counts.age_unknown, counts.total) == (1, 1, 1, 3)
    incident.affected_enrolled_from = before + dt.timedelta(days=1)
    incident = incident_save(actor="test", incident=incident, systems=[system])
    assert affected_count(incident).total == 0


def test_only_the_dpo_records_the_report_and_closes_and_nothing_is_ever_deleted(entity, system):
    operator_client, dpo_client = Client(), Client()
    factories.staff_login(operator_client, factories.user_with_role("operator", is_staff=True))
    factories.staff_login(dpo_client, factories.user_with_role("dpo", is_staff=True))
    incident = _open(entity, [system], discovered=timezone.now() - dt.timedelta(minutes=20), grade="major")
    url = reverse("admin:dataops_incident_change", args=[incident.pk])
    assert 'name="report_through"' not in operator_client.get(url).content.decode()
    assert 'name="report_through"' in dpo_client.get(url).content.decode()
    sent = (timezone.now() - dt.timedelta(minutes=5)).astimezone(BEIJING)
    form = _form(entity, [system], discovered=incident.discovered_at, grade="major")
    form.update(
        {
            "report_sent_at_0": sent.strftime("%Y-%m-%d"),
            "report_sent_at_1": sent.strftime("%H:%M:%S"),
            "report_through": "12387 hotline, receipt 2026-001",
        }
    )
    assert dpo_client.post(url, form).status_code == 302
    incident.refresh_from_db()
    assert incident.state == Incident.State.REPORTED
    page = dpo_client.get(url, headers={"Accept-Language": "en"}).content.decode()
    assert "through 12387 hotline, receipt 2026-001, within the deadline." in page
    assert "在时限内" in dpo_client.get(url).content.decode()  # the same facts in the reader's language
    closing = _form(
        entity, [system], discovered=incident.discovered_at, grade="major", close="on", closing_root_cause=""
    )
    response = dpo_client.post(url, closing)
    assert "closing_root_cause" in response.context["adminform"].form.errors
    closing.update(closing_root_cause="An unencrypted export on a laptop.", closing_review="Exports now encrypted.")
    dpo_client.post(url, closing)
    incident.refresh_from_db()
    assert incident.state == Incident.State.REPORTED  # no corrective action recorded yet: not closed
    closing.update(
        {
            "actions-TOTAL_FORMS": "1",
            "actions-0-action": "Encrypt every export by default",
            "actions-0-owner": "IT operations",
            "actions-0-due_on": "2027-01-31",
        }
    )
    closing.update(
        closing_root_cause="An unencrypted export on a laptop.", closing_review="Exports now encrypted; drill in March."
    )
    assert dpo_client.post(url, closing).status_code == 302
    incident.refresh_from_db()
    assert incident.state == Incident.State.CLOSED and incident.closed_at
    closed_page = dpo_client.get(url, headers={"Accept-Language": "en"}).content.decode()
    assert "An unencrypted export on a laptop." in closed_page and 'name="summary"' not in closed_page
    for client in (operator_client, dpo_client):
        assert (
            client.post(reverse("admin:dataops_incident_delete", args=[incident.pk]), {"post": "yes"}).status_code
            == 403
        )
    assert Incident.objects.filter(pk=incident.pk).exists()


def test_a_late_report_is_recorded_as_late(entity, system):
    incident = _open(entity, [system], discovered=timezone.now() - dt.timedelta(minutes=50), grade="major")
    incident = incident_report_record(actor="test", incident=incident, reported_at=timezone.now(), channel="12387")
    assert "20 minutes after the deadline" in event_text(incident.events.get(kind="reported"))


def test_a_major_incident_calls_for_a_new_impact_assessment_of_the_systems_involved(entity, system, purpose):
    other = factories.active_system(entity=entity, purpose=purpose)
    _open(entity, [other], discovered=timezone.now(), grade="major", drill=True)  # a drill flags nothing
    incident = _open(entity, [system], discovered=timezone.now(), grade="larger")
    assert system.assessments.get().state == "approved"
    incident.grade = Incident.Grade.MAJOR
    incident = incident_save(actor="test", incident=incident, systems=[system])
    assessment = system.assessments.get()
    assert assessment.state == "needs_reassessment" and incident.reference in assessment.reassessment_reason
    system.refresh_from_db()
    other.refresh_from_db()
    assert system.reassessment_since is not None  # it enrols no one new until a new assessment is approved
    assert other.reassessment_since is None and other.assessments.get().state == "approved"
    assert "impact assessment" in event_text(incident.events.get(kind="reassessment"))


def test_the_dpo_pauses_new_enrolments_in_the_systems_involved(dpo_client, entity, system):
    incident = _open(entity, [system], discovered=timezone.now(), grade="larger")
    response = dpo_client.post(
        reverse("admin:dataops_incident_changelist"), {"action": "pause_enrolments", "_selected_action": [incident.pk]}
    )
    assert response.status_code == 302
    system.refresh_from_db()
    assert system.enrolments_paused
    assert incident.events.filter(kind="paused").count() == 1


def test_a_refused_sms_is_recorded_and_the_email_is_not_sent_again(entity_with_contact, system, monkeypatch):
    incident = _open(entity_with_contact, [system], discovered=timezone.now(), grade="major")

    def refuse(*args, **kwargs):
        raise SmsError("not a mobile number")

    monkeypatch.setattr("dataops.incidents.escalation.sms_send", refuse)
    assert incidents_escalate_due() == 1
    assert incidents_escalate_due() == 0
    assert len(mail.outbox) == 1
    with translation.override("en"):
        assert "2 text messages were not accepted" in event_text(incident.events.get(kind="escalated"))


def test_a_note_can_still_be_added_to_a_closed_incident(dpo_client, entity, system):
    incident = _open(entity, [system], discovered=timezone.now() - dt.timedelta(minutes=5), grade="larger")
    incident_report_record(actor="test", incident=incident, reported_at=timezone.now(), channel="12387")
    corrective_action_save(
        actor="test",
        action=CorrectiveAction(incident=incident, action="Encrypt exports", owner="IT", due_on=dt.date(2027, 1, 31)),
    )
    incident_close(actor="test", incident=incident, root_cause="An unencrypted export.", review="Encrypted now.")
    url = reverse("admin:dataops_incident_change", args=[incident.pk])
    response = dpo_client.post(
        url,
        {
            "note": "The vendor confirmed the laptop was recovered.",
            "actions-TOTAL_FORMS": "1",
            "actions-INITIAL_FORMS": "1",
            "actions-MIN_NUM_FORMS": "0",
            "actions-MAX_NUM_FORMS": "1000",
            "actions-0-id": str(incident.actions.get().pk),
            "actions-0-incident": str(incident.pk),
            "actions-0-action": "Encrypt exports",
            "actions-0-owner": "IT",
            "actions-0-due_on": "2027-01-31",
        },
    )
    assert response.status_code == 302
    assert incident.events.filter(kind="note").get().text == "The vendor confirmed the laptop was recovered."
    assert list(incident.systems.all()) == [system]


def test_an_assessment_approved_after_the_major_incident_is_not_flagged_again_by_a_later_edit(entity, system, purpose):
    incident = _open(entity, [system], discovered=timezone.now(), grade="major")
    assert system.assessments.get().state == "needs_reassessment"
    fresh = factories.approved_assessment(entity, [system])
    incident.measures = "Credentials revoked."
    incident = incident_save(actor="test", incident=incident, systems=[system])
    fresh.refresh_from_db()
    assert fresh.state == "approved"
    added = factories.active_system(entity=entity, purpose=purpose)
    incident_save(actor="test", incident=incident, systems=[system, added])  # a system found involved later
    fresh.refresh_from_db()
    assert fresh.state == "approved" and added.assessments.get().state == "needs_reassessment"
