"""The lifecycle of a filing: review, submission, the lock, the acknowledgement."""

import pytest

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
    filing_submit(actor="dpo", filing=filed)
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
    filing_agent_set(actor="dpo", filing=filed, name="陈立", phone="13600136000", email="chenli@example.com")
    filed.refresh_from_db()
    assert (filed.agent_name, filed.agent_phone) == ("陈立", "13600136000")
    assert AuditEvent.objects.filter(action="filing.agent_changed", object_id=str(filed.pk)).count() == 1
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
