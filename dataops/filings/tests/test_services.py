"""The lifecycle of a filing: review, submission, the lock, the acknowledgement."""

import json
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from dataops.filings.changes import recognition_end
from dataops.filings.documents import filing_build, filing_build_document
from dataops.filings.services import (
    FilingError,
    filing_acknowledge,
    filing_agent_set,
    filing_attach,
    filing_create,
    filing_generate,
    filing_review,
    filing_submit,
)
from dataops.registry.services import system_save
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


PDF = factories.SCAN


def test_review_needs_every_attachment(entity, system):
    filing = filing_create(actor="t", entity=entity, kind="initial")
    filing_generate(actor="t", filing=filing)
    filing_build(filing_id=filing.pk)
    with pytest.raises(FilingError) as info:
        filing_review(actor="dpo", filing=filing)
    assert info.value.code == "attachments"


def test_a_submitted_filing_never_changes(filed):

    filing_review(actor="dpo", filing=filed)
    filing_submit(actor="dpo", filing=filed, receipt_number="备-2026-0001")
    # The submission pins the registry's audit chain as it stood: a later rewrite of history shows.
    event = AuditEvent.objects.get(action="filing.submitted")
    assert event.chain == "registry" and event.data["registry_head"] == event.prev_hash
    assert event.data["sha256"] == filed.snapshot_sha256
    with pytest.raises(FilingError):
        filing_attach(actor="t", filing=filed, kind="other", content=PDF, content_type="application/pdf")
    with pytest.raises(FilingError):
        filing_generate(actor="t", filing=filed)
    filed.refresh_from_db()
    assert filed.state == "submitted" and filed.submitted_at is not None


def test_acknowledging_needs_a_submitted_filing(filed):
    with pytest.raises(FilingError):
        filing_acknowledge(actor="r", filing=filed, authority="x")


def test_the_person_handling_a_filing_is_named_on_a_draft_only_and_recorded(filed):
    before = AuditEvent.objects.filter(action="filing.agent_changed", object_id=str(filed.pk)).count()
    filing_agent_set(actor="dpo", filing=filed, name="陈立", phone="13600136000", email="chenli@example.com")
    filed.refresh_from_db()
    assert (filed.agent_name, filed.agent_phone) == ("陈立", "13600136000")
    assert AuditEvent.objects.filter(action="filing.agent_changed", object_id=str(filed.pk)).count() == before + 1
    filing_generate(actor="dpo", filing=filed)
    filing_build(filing_id=filed.pk)
    filing_review(actor="dpo", filing=filed)
    with pytest.raises(FilingError) as info:
        filing_agent_set(actor="dpo", filing=filed, name="别人", phone="", email="")
    assert info.value.code == "state"


def test_a_document_is_built_only_for_a_drafts_current_snapshot(filed):
    filing_review(actor="dpo", filing=filed)
    before = {(d.kind, d.language): d.sha256 for d in filed.documents.all()}
    assert filing_build_document(filing_id=filed.pk, kind="basic_info", language="zh") is None  # reviewed: kept
    assert {(d.kind, d.language): d.sha256 for d in filed.documents.all()} == before


def test_a_submission_records_the_cacs_receipt_and_the_cancellation_cites_it(filed, tmp_path):
    filing_review(actor="dpo", filing=filed)
    with pytest.raises(FilingError) as info:
        filing_submit(actor="dpo", filing=filed, receipt_number="  ")
    assert info.value.code == "receipt"
    filed.refresh_from_db()
    assert filed.state == "reviewed"

    filing_submit(actor="dpo", filing=filed, receipt_number="沪网信备 2026-0417")
    filed.refresh_from_db()
    assert filed.cac_receipt_number == "沪网信备 2026-0417"
    assert AuditEvent.objects.get(action="filing.submitted").data["receipt"] == "沪网信备 2026-0417"

    cancellation = recognition_end(actor="dpo", entity=filed.entity)
    filing_generate(actor="dpo", filing=cancellation)
    filing_build(filing_id=cancellation.pk)
    pdf = bytes(cancellation.documents.get(kind="application_form", language="zh").pdf)
    (tmp_path / "c.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "c.pdf"), "-"], capture_output=True, text=True).stdout
    assert "沪网信备 2026-0417" in text and "内部编号" in text and filed.number in text


def test_a_filing_with_an_unknown_fact_cannot_be_reviewed_until_it_is_recorded(filed, system, tmp_path):
    # Used to pass: the form printed "否" for cross-border transfer though nobody had ever said so.
    system.cross_border = None
    system_save(actor="t", system=system)
    filing_generate(actor="dpo", filing=filed)
    filing_build(filing_id=filed.pk)
    pdf = bytes(filed.documents.get(kind="application_form", language="zh").pdf)
    (tmp_path / "f.pdf").write_bytes(pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "f.pdf"), "-"], capture_output=True, text=True).stdout
    assert "未知" in text and "审核前须补充" in text.replace("\n", "")
    with translation.override("zh-hans"), pytest.raises(FilingError) as info:  # as the admin shows it
        filing_review(actor="dpo", filing=filed)
    assert info.value.code == "unknown_facts" and "是否跨境传输" in info.value.messages[0]

    system.cross_border = False
    system_save(actor="t", system=system)
    filing_generate(actor="dpo", filing=filed)
    filing_build(filing_id=filed.pk)
    assert filing_review(actor="dpo", filing=filed).state == "reviewed"


def test_an_identity_document_number_is_kept_encrypted_and_filed_masked(filed):
    # The number is checked (GB 11643 check character), encrypted at rest, and never in the snapshot.
    with pytest.raises(ValidationError) as info:
        filing_agent_set(
            actor="dpo",
            filing=filed,
            name="陈立",
            phone="",
            email="",
            id_type="resident_id",
            id_number="110105194912310021",
        )
    assert info.value.code == "id_check"
    filing_agent_set(
        actor="dpo", filing=filed, name="陈立", phone="", email="", id_type="passport", id_number="E12345678"
    )
    filed.refresh_from_db()
    assert filed.agent_id_masked == "E******78" and b"E12345678" not in bytes(filed.agent_id_ciphertext)
    filing_generate(actor="dpo", filing=filed)
    filed.refresh_from_db()
    snapshot = json.dumps(filed.snapshot, ensure_ascii=False)
    assert "E12345678" not in snapshot and factories.RESIDENT_ID not in snapshot
    assert filed.snapshot["C"]["agent_id_masked"] == "E******78"
    assert filed.snapshot["B"]["legal_rep_id_masked"] == "110105********002X"
