"""The end of an entrusted processor's contract: everything it holds is deleted, and proved (PIPL Art 21, R13)."""

import datetime as dt
import hashlib

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from dataops.deletions.contracts import contract_deletions_open, contracts_end_due, processor_contract_end
from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.propagations import PropagationError, propagation_confirm
from dataops.deletions.tasks import propagations_dispatch
from dataops.registry.models import Holding, ProcessingSystem
from facerights.models import AuditEvent
from facerights.services import TransitionError
from tests import factories

pytestmark = pytest.mark.django_db

CERTIFICATE = {"certificate_sha256": hashlib.sha256(b"certificate").hexdigest(), "performed_by": "张工"}


@pytest.fixture
def processor(entity, purpose):
    return factories.active_system(
        entity=entity,
        purpose=purpose,
        name_zh="某云识别服务",
        kind=ProcessingSystem.Kind.PROCESSOR,
        contract_reference="HT-2026-01",
        integration=ProcessingSystem.Integration.MANUAL,
        webhook_url="",
        contact_email="vendor@example.com",
    )


@pytest.fixture
def ended(processor, subject, other_subject, system):
    """The processor holds two people (one also held by the company's own gate), and its contract ended."""
    factories.holding(subject, processor, key="P-1")
    factories.holding(other_subject, processor, key="P-2")
    factories.holding(subject, system, key="GATE-1")
    processor_contract_end(actor="dpo", system=processor)
    assert contract_deletions_open(actor="dpo", system_id=processor.pk) == 2
    return processor


def test_ending_a_contract_opens_a_deletion_for_everyone_the_processor_holds_and_nothing_else(ended, system):
    ended.refresh_from_db()
    assert ended.status == ProcessingSystem.Status.RETIRED
    assert ended.contract_ended_on == timezone.localdate()
    assert AuditEvent.objects.filter(action="system.contract_ended", object_id=str(ended.pk)).count() == 1
    deletions = DeletionRequest.objects.filter(trigger=DeletionRequest.Trigger.CONTRACT_ENDED)
    assert deletions.count() == 2
    assert set(Propagation.objects.filter(deletion_request__in=deletions).values_list("system", flat=True)) == {
        ended.pk
    }
    assert (
        Holding.objects.get(system=system, subject_key="GATE-1").status == Holding.Status.ACTIVE
    )  # the company's own gate keeps it
    # Running again (the task is retried, the daily sweep finishes it) opens nothing twice.
    processor_contract_end(actor="dpo", system=ended)
    assert contract_deletions_open(actor="dpo", system_id=ended.pk) == 0
    assert AuditEvent.objects.filter(action="system.contract_ended").count() == 1


def test_after_its_contract_the_processor_may_keep_nothing_and_must_send_its_certificate(ended):
    # Used to pass: a processor could answer "kept" or "deleted" with no proof after its contract ended.
    propagation = Propagation.objects.filter(system=ended, deletion_request__trigger="contract_ended").first()
    with pytest.raises(PropagationError) as info:
        propagation_confirm(
            actor="system", propagation=propagation, outcome="held", evidence=CERTIFICATE, reason="审计需要"
        )
    assert info.value.code == "processor_held"
    with pytest.raises(PropagationError) as info:
        propagation_confirm(actor="system", propagation=propagation, outcome="deleted", evidence={"by": "张工"})
    assert info.value.code == "certificate"
    assert Propagation.objects.get(pk=propagation.pk).state not in ("deleted", "held")

    done = propagation_confirm(actor="system", propagation=propagation, outcome="deleted", evidence=CERTIFICATE)
    assert done.state == "deleted"
    assert done.deletion_request.state == DeletionRequest.State.COMPLETED


def test_the_vendor_page_asks_for_the_certificate_and_offers_no_keeping(client, ended):
    propagations_dispatch(ended.pk)
    [message] = [m for m in mail.outbox if "P-1" in m.body]
    path = next(line for line in message.body.splitlines() if "/vendor/deletions/" in line)
    path = path.strip().split("localhost:8000", 1)[1]
    page = client.get(path).content.decode()
    assert 'value="held"' not in page and "合同已终止" in page

    form = {"outcome": "deleted", "performed_by": "张工 运维", "performed_at": "2026-11-20T10:00"}
    response = client.post(path, form)
    assert response.status_code == 200 and "这个字段是必填项" in response.content.decode()
    assert client.post(path, {**form, "outcome": "held", "reason": "审计"}).status_code == 200
    assert not Propagation.objects.filter(system=ended, state__in=["deleted", "held"]).exists()

    pdf = SimpleUploadedFile("cert.pdf", b"%PDF-1.4 certificate", content_type="application/pdf")
    assert client.post(path, {**form, "certificate": pdf}).status_code == 200
    assert Propagation.objects.filter(system=ended, state="deleted").count() == 1


def test_only_a_processors_contract_ends_and_not_in_the_future(processor, system):
    with pytest.raises(TransitionError) as info:
        processor_contract_end(actor="dpo", system=system)
    assert info.value.code == "not_processor"
    with pytest.raises(TransitionError) as info:
        processor_contract_end(actor="dpo", system=processor, ended_on=timezone.localdate() + dt.timedelta(days=1))
    assert info.value.code == "future"
    processor.refresh_from_db()
    assert processor.status == ProcessingSystem.Status.ACTIVE and processor.contract_ended_on is None


def test_the_daily_sweep_ends_the_contracts_whose_last_day_has_passed(processor, entity, purpose, subject):
    factories.holding(subject, processor, key="P-1")
    today = timezone.localdate()
    ProcessingSystem.objects.filter(pk=processor.pk).update(contract_ends_on=today - dt.timedelta(days=1))
    running = factories.active_system(
        entity=entity,
        purpose=purpose,
        kind=ProcessingSystem.Kind.PROCESSOR,
        contract_reference="HT-2026-02",
        contract_ends_on=today,
    )
    assert [s.pk for s in contracts_end_due(today=today)] == [processor.pk]
    processor.refresh_from_db()
    running.refresh_from_db()
    assert processor.contract_ended_on == today - dt.timedelta(days=1)
    assert processor.status == ProcessingSystem.Status.RETIRED
    assert running.contract_ended_on is None and running.status == ProcessingSystem.Status.ACTIVE


def test_the_dpo_ends_a_contract_in_the_admin_only_by_typing_its_name(dpo_client, processor):
    url = reverse("admin:dataops_processingsystem_changelist")
    action = {"action": "end_contract", "_selected_action": [processor.pk]}
    asked = dpo_client.post(url, action)
    assert asked.status_code == 200 and "某云识别服务" in asked.content.decode()

    wrong = dpo_client.post(url, {**action, "typed_name": "某云"})
    assert "输入的名称不一致，未执行任何操作" in wrong.content.decode()
    processor.refresh_from_db()
    assert processor.contract_ended_on is None and processor.status == ProcessingSystem.Status.ACTIVE

    done = dpo_client.post(url, {**action, "typed_name": "某云识别服务"}, follow=True)
    assert "某云识别服务：合同已终止" in done.content.decode()
    processor.refresh_from_db()
    assert processor.contract_ended_on == timezone.localdate()
    assert processor.status == ProcessingSystem.Status.RETIRED
