"""The demo data has what each journey needs, once."""

import time

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from consent.models import ConsentRecord, DataSubject, Guardianship
from consent.rules import needs_guardian_consent
from consent.services import subject_find
from dataops.deletions.models import Propagation
from dataops.deletions.propagations import propagation_confirm
from dataops.deletions.tasks import propagations_sweep
from dataops.demo.seed import DEMO_ENTITY_CODE, DEMO_TOTP_SECRET
from dataops.filings.counting import stored_persons
from dataops.filings.models import Filing, FilingObligation
from dataops.filings.snapshot import filing_snapshot, registry_sections, snapshot_unknowns
from dataops.incidents.escalation import incidents_escalate_due
from dataops.incidents.models import Incident
from dataops.registry.models import Holding, LegalEntity, ProcessingSystem
from facerights.audit import audit_chain_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, tmp_path):
    settings.DEBUG = True
    call_command("seed_demo", simulator_config=str(tmp_path / "simulator.json"))
    return tmp_path / "simulator.json"


def _systems_answer_their_connection_tests():
    """What the simulated push and pull systems do when `make run` starts: confirm the synthetic deletions."""

    for p in Propagation.objects.exclude(state__in=Propagation.TERMINAL).filter(
        deletion_request__subject__is_synthetic=True
    ):
        propagation_confirm(actor="simulator", propagation=p, outcome="not_found", evidence={"simulated": True})


def test_the_demo_has_what_each_journey_needs_once(seeded, client):
    entity = LegalEntity.objects.get(credit_code="91310101MA1FPX0C88")
    assert entity.sites.count() == 3
    systems = ProcessingSystem.objects.filter(entity=entity)
    assert systems.count() >= 5
    # Only the manual vendor, which already answered its test email, is active before the simulator runs.
    assert set(systems.filter(status="active").values_list("integration", flat=True)) == {"manual"}
    _systems_answer_their_connection_tests()
    assert all(s.status == ProcessingSystem.Status.ACTIVE for s in systems.all())
    assert {s.kind for s in systems} >= {"device", "central", "processor"}
    assert {s.integration for s in systems} == {"push", "pull", "manual"}
    assert (
        190 <= DataSubject.objects.filter(is_synthetic=False, holdings__system__entity=entity).distinct().count() <= 220
    )
    today = timezone.localdate()
    children = [s for s in DataSubject.objects.all() if needs_guardian_consent(s.date_of_birth, today)]
    assert children
    for child in children:
        assert Guardianship.objects.filter(ward=child, verified_at__isnull=False).exists()
        assert set(child.consents.values_list("method", flat=True)) == {ConsentRecord.Method.GUARDIAN}

    # The demo subject: three holdings at three sites, and an account.
    demo = subject_find(kind="email", value="demo@example.com")
    holdings = Holding.objects.filter(subject=demo).select_related("system")
    assert holdings.count() == 3
    assert len({h.system.site_id for h in holdings}) == 3
    assert demo.user.username == "demo"
    # The DPO signs in with the printed password and the printed authenticator secret.
    response = client.post("/accounts/login/", {"login": "dpo@example.com", "password": "facerights-demo-2026"})
    assert response["Location"] == "/accounts/2fa/authenticate/"
    client.post(
        "/accounts/2fa/authenticate/", {"code": format_hotp_value(hotp_value(DEMO_TOTP_SECRET, int(time.time()) // 30))}
    )
    assert client.get("/admin/").status_code == 200
    client.logout()

    # Last spring's incident drill, reported within its 30 minutes and closed: nothing to escalate.
    drill = Incident.objects.get(entity=entity)
    assert drill.is_drill and drill.state == Incident.State.CLOSED
    assert drill.reported_at <= drill.report_due_at
    assert incidents_escalate_due() == 0

    # An overdue vendor for the DPO to find: the sweeper escalates it within a minute of `make run`.
    propagations_sweep()
    assert Propagation.objects.filter(state="escalated", system__integration="manual").count() == 1

    # A second entity storing just over 100,000 people: its filing is due, drafted with its scans.
    large = LegalEntity.objects.get(credit_code="91310115MA1K4PRW3C")
    assert stored_persons(large) > 100_000
    filing = Filing.objects.get(obligation=FilingObligation.objects.get(entity=large, kind="initial"))
    assert filing.state == "draft" and filing.attachments.count() == 5
    # Every fact its forms state is on record: the DPO can generate and review it as it stands.
    assert snapshot_unknowns(filing_snapshot(filing)) == []
    jincheng = LegalEntity.objects.get(credit_code=DEMO_ENTITY_CODE)
    agent = {"agent_name": "陈立", "agent_id_type": "passport"}  # named on a filing, when there is one
    assert snapshot_unknowns({**registry_sections(jincheng, timezone.localdate()), "C": agent}) == []
    assert large.systems.get().status == "active"
    assert client.login(username="demo", password="facerights-demo-2026")
    assert "外滩店自助入住机" in client.get("/me/").content.decode()

    # Seeding again changes nothing, and the audit chain of everything it wrote holds
    # (here rather than in a test of its own: the seed takes forty seconds).
    counts = (DataSubject.objects.count(), Holding.objects.count(), ConsentRecord.objects.count())
    call_command("seed_demo", simulator_config=str(seeded))
    assert (DataSubject.objects.count(), Holding.objects.count(), ConsentRecord.objects.count()) == counts
    assert audit_chain_verify() == []


def test_the_demo_refuses_to_run_in_production(settings):

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not LegalEntity.objects.exists()
