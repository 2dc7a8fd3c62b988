"""Changes to filed information and ending face recognition."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.propagations import PropagationError, propagation_confirm
from dataops.filings.changes import (
    change_review_decide,
    filing_change_check,
    recognition_deletions_open,
    recognition_deletions_resume,
    recognition_end,
)
from dataops.filings.documents import filing_build
from dataops.filings.models import Filing
from dataops.filings.services import (
    filing_attach,
    filing_disposal_set,
    filing_generate,
    filing_review,
    filing_submit,
)
from dataops.incidents.models import Incident
from dataops.incidents.services import incident_save
from dataops.registry.models import Holding
from dataops.registry.services import system_save
from tests import factories
from tests.reading import pdf_text

pytestmark = pytest.mark.django_db


def test_a_change_of_storage_on_a_filed_entity_opens_a_review_with_its_deadline(filed, system):
    filing_review(actor="dpo", filing=filed)
    filing_submit(actor="dpo", filing=filed, receipt_number="备-2026-0001")
    assert filing_change_check(entity=filed.entity, today=dt.date(2026, 9, 24)) is None  # nothing changed yet
    system.storage_location = "cloud"
    system_save(actor="t", system=system)
    review = filing_change_check(entity=filed.entity, today=dt.date(2026, 9, 24))
    # 30 working days from Thursday 24 September 2026: Mid-Autumn (25-27 Sep) and National Day
    # (1-7 Oct) are not counted, the make-up Saturday of 10 October is: 3 in September,
    # 2 + 1 + 18 in October, 9 to 12 November.
    assert review.due_on == dt.date(2026, 11, 12)
    assert any(c["field"].endswith("storage_location") and c["after"] == "cloud" for c in review.changes)
    assert filing_change_check(entity=filed.entity, today=dt.date(2026, 9, 25)) is None  # once per change
    change_review_decide(actor="dpo", review=review, substantive=True)
    change = Filing.objects.get(kind="change")
    assert change.previous == filed and change.obligation.due_on == review.due_on


def test_ending_face_recognition_opens_deletions_for_every_holding_and_the_cancellation(
    entity, purpose, subject, other_subject
):
    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(2)]
    for person in (subject, other_subject):
        for system in systems:
            factories.holding(person, system)
    filing = recognition_end(actor="dpo", entity=entity, on=dt.date(2026, 3, 2))
    # At once: no one is recognised any more, and the cancellation filing is open.
    assert {s.status for s in entity.systems.all()} == {"retired"}
    assert filing.kind == "cancellation" and filing.obligation.due_on == dt.date(2026, 4, 14)
    # In the background (the task, or beat's daily resume): a deletion for everyone held.
    assert recognition_deletions_resume() == 1
    assert recognition_deletions_open(actor="dpo", entity_id=entity.pk) == 2
    held = Holding.objects.filter(system__entity=entity, subject__is_synthetic=False)
    assert set(held.values_list("status", flat=True)) == {"deletion_pending"}
    deletions = DeletionRequest.objects.filter(trigger="recognition_ended")
    assert deletions.count() == 2 and sum(d.propagations.count() for d in deletions) == 4
    assert recognition_deletions_open(actor="dpo", entity_id=entity.pk) == 0  # safe to run again
    assert recognition_deletions_resume() == 0  # nothing left to open


def test_the_dpo_ends_face_recognition_only_by_typing_the_entitys_name(dpo_client, entity, system):
    url = reverse("admin:dataops_legalentity_changelist")
    action = {"action": "end_recognition", "_selected_action": [entity.pk]}
    assert entity.name_zh in dpo_client.post(url, action).content.decode()
    dpo_client.post(url, {**action, "typed_name": "别的公司"})
    entity.refresh_from_db()
    assert entity.recognition_ended_on is None and not Filing.objects.filter(kind="cancellation").exists()
    dpo_client.post(url, {**action, "typed_name": entity.name_zh})
    entity.refresh_from_db()
    assert entity.recognition_ended_on is not None and Filing.objects.filter(kind="cancellation").exists()


def test_a_change_filing_tells_what_changed_in_words_and_who_decided_by_name(filed, system, dpo_client):
    # Used to pass: "D[7].storage_location: device → cloud" and "decided by user:2".
    filing_review(actor="dpo", filing=filed)
    filing_submit(actor="dpo", filing=filed, receipt_number="备-2026-0001")
    system.storage_location = "cloud"
    system_save(actor="t", system=system)
    review = filing_change_check(entity=filed.entity, today=dt.date(2026, 9, 24))
    dpo = factories.user_with_role("dpo", username="lin")
    dpo.first_name, dpo.last_name = "晓雯", "林"
    dpo.save()
    change_review_decide(actor=f"user:{dpo.pk}", review=review, substantive=True)
    admin_page = dpo_client.get(reverse("admin:dataops_changereview_change", args=[review.pk])).content.decode()
    assert f"{system.name_zh} · 存储位置: 在设备上 → 在云服务中" in admin_page and "storage_location" not in admin_page

    change = Filing.objects.get(kind="change")
    # The security incidents since the previous filing are cited; a drill is not one.
    incident, drill = (
        incident_save(
            actor="t",
            incident=Incident(
                entity=filed.entity,
                summary="Gate server copied.",
                discovered_at=timezone.now(),
                grade="larger",
                data_kinds=["templates"],
                is_drill=is_drill,
            ),
            systems=[system],
        )
        for is_drill in (False, True)
    )
    for kind in ("credit_code_certificate", "legal_rep_id", "agent_id", "power_of_attorney", "commitment"):
        content = factories.SCAN + kind.encode()
        filing_attach(actor="t", filing=change, kind=kind, content=content, content_type="application/pdf")
    filing_generate(actor="t", filing=change)
    filing_build(filing_id=change.pk)
    zh = pdf_text(change.documents.get(kind="application_form", language="zh").pdf)
    en = pdf_text(change.documents.get(kind="application_form", language="en").pdf)
    assert "上一次备案以来的安全事件" in zh and "Security incidents since the previous filing" in en
    assert incident.reference in zh and incident.reference in en and "较大" in zh
    assert drill.reference not in zh + en
    assert "存储位置" in zh and "在设备上 → 在云服务中" in zh and "林晓雯（个人信息保护负责人）" in zh
    assert (
        "Storage location" in en
        and "on the device → in a cloud service" in en
        and "林晓雯 (data-protection officer)" in en
    )
    assert "storage_location" not in zh + en and "user:" not in zh + en


def test_a_cancellation_states_the_disposal_and_each_processors_certificate(entity, purpose, subject):
    # Used to pass: a processor confirmed a cancellation's deletion with no certificate, and the
    # cancellation filing said nothing of how the facial information was disposed of.
    processor = factories.active_system(
        entity=entity, purpose=purpose, kind="processor", name_zh="云识别受托方", contract_reference="HT-9"
    )
    factories.holding(subject, processor)
    filing = recognition_end(actor="dpo", entity=entity, on=dt.date(2026, 3, 2))
    recognition_deletions_open(actor="dpo", entity_id=entity.pk)
    propagation = Propagation.objects.get(system=processor, deletion_request__trigger="recognition_ended")
    with pytest.raises(PropagationError) as info:
        propagation_confirm(actor="vendor", propagation=propagation, outcome="deleted", evidence={"ok": True})
    assert info.value.code == "certificate"
    certificate = "ab" * 32
    propagation_confirm(
        actor="vendor", propagation=propagation, outcome="deleted", evidence={"certificate_sha256": certificate}
    )

    filing_generate(actor="dpo", filing=filing)
    filing.refresh_from_db()
    assert "disposal" in {item["fact"] for item in filing.snapshot["unknown"]}  # not described yet
    filing_disposal_set(actor="dpo", filing=filing, text="全部人脸模板已于设备端删除，受托人出具删除证明。")
    filing_generate(actor="dpo", filing=filing)
    filing_build(filing_id=filing.pk)
    filing.refresh_from_db()
    assert "disposal" not in {item["fact"] for item in filing.snapshot["unknown"]}
    text = pdf_text(filing.documents.get(kind="application_form", language="zh").pdf).replace(" ", "")
    assert "全部人脸模板已于设备端删除" in text and "受托人删除证明:1" in text and certificate in text.replace("\n", "")
