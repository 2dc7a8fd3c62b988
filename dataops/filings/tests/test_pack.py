"""The pack for the CAC's system."""

import hashlib
import io
import json
import zipfile

import pytest

from dataops.filings.documents import filing_build
from dataops.filings.pack import filing_pack
from dataops.filings.services import (
    filing_attach,
    filing_create,
    filing_generate,
)
from tests import factories

pytestmark = pytest.mark.django_db


PDF = b"%PDF-1.4 scanned and sealed"


@pytest.fixture
def filed(entity, system, subject):
    """A filing with its documents built and every attachment uploaded."""
    entity.security_measures = "设备端加密存储；访问控制；安全审计；入侵检测。等保二级。"
    entity.save()
    factories.holding(subject, system)
    filing = filing_create(actor="t", entity=entity, kind="initial")
    for kind in ("credit_code_certificate", "legal_rep_id", "agent_id", "power_of_attorney", "commitment"):
        filing_attach(actor="t", filing=filing, kind=kind, content=PDF + kind.encode(), content_type="application/pdf")
    filing_generate(actor="t", filing=filing)
    return filing_build(filing_id=filing.pk)


def test_the_pack_holds_the_forms_the_report_and_the_attachments_in_order(filed):

    archive = zipfile.ZipFile(io.BytesIO(filing_pack(filed)))
    names = archive.namelist()
    assert "01_个人信息处理者基本情况表.pdf" in names
    top = sorted(n for n in names if "/" not in n and n.endswith((".pdf",)))
    assert [n[:2] for n in top] == ["01", "02", "03", "04", "05", "06", "07", "08"]
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["snapshot_sha256"] == filed.snapshot_sha256
    assert any(n.startswith("英文译本_English/") for n in names)
    for attachment in filed.attachments.all():  # the scans leave the database only in the pack, as uploaded
        entry = next(e for e in manifest["files"] if e["sha256"] == attachment.sha256)
        assert hashlib.sha256(archive.read(entry["file"])).hexdigest() == attachment.sha256
        assert PDF not in bytes(attachment.ciphertext)  # an ID document is never stored in clear
