"""The pack for the CAC's system."""

import hashlib
import io
import json
import zipfile

import pytest

from dataops.filings.pack import filing_pack
from tests import factories

pytestmark = pytest.mark.django_db


PDF = factories.SCAN


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
