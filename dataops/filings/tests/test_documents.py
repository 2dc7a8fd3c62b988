"""The filing documents: Chinese with an embedded CJK font, the fingerprint, the same bytes again."""

import datetime as dt
import subprocess

import pytest

from consent.models import Purpose
from dataops.filings.documents import filing_build
from dataops.filings.services import (
    FilingError,
    filing_create,
    filing_generate,
    filing_review,
)
from dataops.filings.snapshot import snapshot_diff
from dataops.filings.wording import change_rows
from dataops.registry.models import DeviceGroup, LegalEntity, ProcessingSystem, SignageEvidence
from dataops.registry.processing import consent_check_recorded
from dataops.registry.services import system_save
from tests import factories
from tests.reading import pdf_text, raw_codes

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
    def built():
        return {(d.kind, d.language): d.sha256 for d in filed.documents.all()}

    before = built()
    filing_build(filing_id=filed.pk)
    assert built() == before and len(before) == 6


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


def test_every_coded_fact_in_the_filing_reads_as_a_label_in_each_language(entity, purpose, subject, tmp_path):
    # Used to pass: data kinds as "template", attachments as "power_of_attorney", a contract term as "2026-01-01/".
    processor = factories.active_system(
        entity=entity,
        purpose=purpose,
        name_zh="云识别服务",
        kind="processor",
        contract_reference="HT-2026-7",
        contract_data_types="人脸特征值",
        contract_starts_on=dt.date(2026, 1, 1),
        contract_ends_on=dt.date(2028, 12, 31),
        keeps_image=True,
        keeps_template=True,
    )
    filing = factories.filed_filing(entity, processor, subject)
    texts = {lang: pdf_text(filing.documents.get(kind="application_form", language=lang).pdf) for lang in ("zh", "en")}
    assert raw_codes(texts["zh"], "zh") == set() and raw_codes(texts["en"], "en") == set()
    assert "人脸图像、人脸模板" in texts["zh"]
    assert "face image, face template" in texts["en"]
    assert "2026年1月1日 – 2028年12月31日" in texts["zh"] and "1 January 2026 – 31 December 2028" in texts["en"]
    assert "授权委托书" in texts["zh"] and "power of attorney (sealed)" in texts["en"]


def test_every_field_a_change_can_touch_has_its_words(filed):
    # A field added to the snapshot without words would reach the regulator as "D[3].new_field".
    changes = snapshot_diff({}, filed.snapshot)  # everything appears: every relevant field changes
    for language in ("zh", "en"):
        rows = change_rows(changes, language)
        assert rows and not [row["what"] for row in rows if "_" in row["what"] or "[" in row["what"]]
        assert not [row for row in rows if "[" in row["after"]]  # no code without its label


def _unknown_then_recorded(entity, system, site):
    """Each fact of groups B to F the forms state: how to make it unknown, what the form says once recorded."""
    return {
        "legal_rep_id_type": (
            lambda: LegalEntity.objects.filter(pk=entity.pk).update(legal_rep_id_type="", legal_rep_id_masked=""),
            "居民身份证",
        ),
        "mlps_level": (lambda: LegalEntity.objects.filter(pk=entity.pk).update(mlps_level=""), "第二级"),
        "incident_plan_on": (
            lambda: LegalEntity.objects.filter(pk=entity.pk).update(incident_plan_on=None),
            "2026年1月10日",
        ),
        "training_last_on": (
            lambda: LegalEntity.objects.filter(pk=entity.pk).update(training_last_on=None),
            "2026年3月2日",
        ),
        "recognition_mode": (
            lambda: ProcessingSystem.objects.filter(pk=system.pk).update(recognition_mode=""),
            "实时（采集时即识别）",
        ),
        "devices": (lambda: DeviceGroup.objects.filter(system=system).delete(), "大堂入口"),
        "public_place": (lambda: SignageEvidence.objects.filter(site=site).delete(), "已设置显著提示标识"),
    }


@pytest.mark.parametrize(
    "fact",
    [
        "legal_rep_id_type",
        "mlps_level",
        "incident_plan_on",
        "training_last_on",
        "recognition_mode",
        "devices",
        "public_place",
    ],
)
def test_each_fact_the_forms_state_comes_from_its_record_and_unknown_blocks_the_review(
    entity, site, purpose, subject, fact
):
    # Used to pass: no device counts, no real-time/batch, signs asserted from a checkbox, 等保 only in free text.
    system = factories.active_system(entity=entity, site=site, purpose=purpose)
    filing = factories.filed_filing(entity, system, subject)
    document = "basic_info" if fact == "legal_rep_id_type" else "application_form"
    recorded = pdf_text(filing.documents.get(kind=document, language="zh").pdf).replace(" ", "")
    forget, stated = _unknown_then_recorded(entity, system, site)[fact]
    assert stated in recorded

    forget()
    filing_generate(actor="t", filing=filing)
    filing_build(filing_id=filing.pk)
    filing.refresh_from_db()
    unknown = pdf_text(filing.documents.get(kind=document, language="zh").pdf).replace(" ", "")
    assert stated not in unknown and ("未知" in unknown or "尚未登记" in unknown)
    assert fact in {item["fact"] for item in filing.snapshot["unknown"]}
    with pytest.raises(FilingError) as info:
        filing_review(actor="dpo", filing=filing)
    assert info.value.code == "unknown_facts"
