"""The filing documents: Chinese with an embedded CJK font, the fingerprint, the same bytes again."""

import subprocess

import pytest

from dataops.filings.documents import filing_build
from dataops.filings.services import (
    filing_create,
    filing_generate,
)
from dataops.registry.services import system_save

pytestmark = pytest.mark.django_db


def _text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_documents_are_in_chinese_with_an_embedded_cjk_font_and_the_snapshot_fingerprint(
    filed, entity, system, tmp_path
):
    assert filed.documents.count() == 6  # three documents, Chinese and English
    form = filed.documents.get(kind="application_form", language="zh")
    text = _text(bytes(form.pdf), tmp_path)
    for label in (
        "人脸识别技术应用情况备案表",
        "处理目的",
        "存储位置",
        "是否通过互联网对外传输",
        "非人脸识别替代方式",
        "安全保护措施",
    ):
        assert label in text, label
    assert entity.credit_code in text and system.name_zh in text and "等保二级" in text
    assert filed.snapshot_sha256 in text.replace("\n", "").replace(" ", "")
    fonts = subprocess.run(["pdffonts", str(tmp_path / "doc.pdf")], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts and " yes " in fonts
    basic = _text(bytes(filed.documents.get(kind="basic_info", language="zh").pdf), tmp_path)
    assert "个人信息处理者基本情况表" in basic and entity.legal_representative in basic
    english = _text(bytes(filed.documents.get(kind="basic_info", language="en").pdf), tmp_path)
    assert "Unified social credit code" in english


def test_the_form_says_whether_a_system_uses_the_national_identity_service(entity, system, tmp_path):
    system.uses_national_identity_service = True
    system_save(actor="t", system=system)
    filing = filing_create(actor="t", entity=entity, kind="initial")
    filing_generate(actor="t", filing=filing)
    filing_build(filing_id=filing.pk)
    for language, label, yes in (
        ("zh", "是否使用国家网络身份认证公共服务", "是"),
        ("en", "Uses the national", "Yes"),  # the English label wraps; the answer stands on its first line
    ):
        text = _text(bytes(filing.documents.get(kind="application_form", language=language).pdf), tmp_path)
        line = next(line for line in text.splitlines() if label in line)
        assert line.split()[-1] == yes, line


def test_the_same_snapshot_gives_the_same_documents(filed):
    before = dict(filed.documents.values_list("kind", "sha256"))
    filing_build(filing_id=filed.pk)
    assert dict(filed.documents.values_list("kind", "sha256")) == before
