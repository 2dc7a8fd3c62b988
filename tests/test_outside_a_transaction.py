"""Paths that run without a transaction around them in production (an API view, an admin action, a page
after its own transaction ended, a Celery task) still write their audit events: the test transaction would hide a missing one.

audit_record refuses to run outside a transaction (facerights/audit.py), so each of these used to fail
with a server error in production while passing in ordinary tests.
"""

import datetime as dt
import io
import re
import zipfile

import pytest
from django.core import mail
from django.utils import timezone

from consent.models import ConsentSession
from consent.proof import consent_proof_package
from consent.sessions import consent_session_open
from dataops.deletions.models import ReconcileHold
from dataops.deletions.opening import deletion_request_open
from dataops.incidents.escalation import incidents_escalate_due
from dataops.incidents.models import Incident
from dataops.incidents.services import incident_save
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_device_whose_inventory_would_close_too_much_is_held_for_the_dpo(client, entity, purpose):
    system, token = factories.pull_system(entity=entity, purpose=purpose)
    for n in range(3):
        subject = factories.subject(phone=f"1350000{n:04d}")
        factories.holding(subject, system, key=f"DEV-{n}")
        deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    response = client.post(
        f"/api/v1/systems/{system.pk}/reconcile",
        {"subject_keys": [], "held_count": 0, "complete": True},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 200 and response.json()["awaiting_confirmation"] == 3
    assert ReconcileHold.objects.filter(system=system).exists()
    assert AuditEvent.objects.filter(action="reconcile.held").exists()


def test_the_dpos_proof_package_is_built_and_audited(entity, site, purpose):
    system = factories.active_system(entity=entity, site=site, purpose=purpose)
    subject = factories.subject(phone="13800138000")
    factories.consent(subject, system)
    with zipfile.ZipFile(io.BytesIO(consent_proof_package(actor="dpo", subject=subject))) as package:
        assert "manifest.json" in package.namelist()
    assert AuditEvent.objects.filter(action="consent.proof_built").exists()


def test_a_phone_that_is_no_childs_verified_guardian_is_refused_clearly(client, entity, site, purpose):
    system = factories.active_system(entity=entity, site=site, purpose=purpose)
    factories.subject(phone="13900139000")  # someone, but nobody's guardian
    _session, token = consent_session_open(actor="t", system=system, purpose=purpose, subject_key="K-1", language="en")
    path = f"/c/{token}/"
    client.post(
        path,
        {"answer": "consent", "date_of_birth": "2020-01-01", "notice_version": 1},
        headers={"Accept-Language": "en"},
    )
    client.post(path + "guardian/", {"action": "send_code", "guardian-phone": "13900139000"})
    from facerights.sms import MemorySmsBackend  # noqa: PLC0415 (the outbox is a test's view of the gateway)

    code = re.search(r"验证码：(\d{6})", MemorySmsBackend.outbox[-1][1])[1]
    page = client.post(
        path + "guardian/",
        {"action": "confirm", "code": code, "child_date_of_birth": "2020-01-01"},
        headers={"Accept-Language": "en"},
    )
    assert page.status_code == 200 and "no verified record that you are the guardian" in page.content.decode()
    assert ConsentSession.objects.get().state == "guardian_needed"
    assert AuditEvent.objects.filter(action="consent_session.guardian_unverified").exists()


def test_an_incidents_escalation_task_records_what_it_sent_on_the_timeline(entity, site, purpose):
    system = factories.active_system(entity=entity, site=site, purpose=purpose)
    discovered = timezone.now()
    incident = incident_save(
        actor="test",
        incident=Incident(
            entity=entity,
            summary="Templates copied from the gate server.",
            discovered_at=discovered,
            grade="major",
            data_kinds=["templates"],
        ),
        systems=[system],
    )
    assert incidents_escalate_due(now=discovered + dt.timedelta(minutes=1)) == 1
    assert len(mail.outbox) == 1
    assert incident.events.filter(kind="escalated").count() == 1
    assert AuditEvent.objects.filter(action="incident.escalated").exists()
