"""The filing documents: Chinese with an embedded CJK font, the fingerprint, the same bytes again."""

import subprocess

import pytest

from consent.models import Purpose
from dataops.filings.documents import filing_build
from dataops.filings.services import (
    filing_create,
    filing_generate,
)
from dataops.registry.processing import consent_check_recorded
from dataops.registry.services import system_save
from tests import factories

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


def test_the_forms_statements_follow_the_records_not_constants(entity, purpose, subject, other_subject, tmp_path):
    # Used to pass: "是（已取得单独同意）" was printed for any system that transmits, whoever had consented.
    transmitting = factories.active_system(entity=entity, purpose=purpose, transmits=True, name_zh="云端闸机")
    for person in (subject, other_subject):  # each consented to the purpose only
        factories.holding(person, transmitting, consent=factories.consent(person, transmitting, purpose=purpose))
    consent_check_recorded(system=transmitting, subject_key="NOBODY", purpose=purpose.code)

    def form_text():
        filing = filing_create(actor="t", entity=entity, kind="initial")
        filing_generate(actor="t", filing=filing)
        filing_build(filing_id=filing.pk)
        return _text(bytes(filing.documents.get(kind="application_form", language="zh").pdf), tmp_path)

    text = form_text().replace(" ", "")
    assert "所存储的2人中0人已就互联网传输单独同意" in text
    assert "允许0次，拒绝1次" in text
    assert "处理目的门禁通行" in text  # transmission is stated under transmission, not as a purpose
    assert "非人脸识别替代方式卡" in text  # the alternative in words, not its code
    # No keep-until date while the assessment is in use (the cell wraps: compare without line breaks).
    assert "在用：被取代或处理活动结束后再保存三年" in text.replace("\n", "")
    factories.consent(subject, transmitting, purpose=Purpose.objects.get(code=Purpose.TRANSMISSION))
    assert "所存储的2人中1人已就互联网传输单独同意" in form_text().replace(" ", "")
