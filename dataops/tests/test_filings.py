"""Filings: the threshold, the documents, their lifecycle, changes, cancellation, and the regulator's area."""

import datetime as dt
import hashlib
import io
import subprocess

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent.models import DataSubject
from dataops.filings.changes import change_review_decide, filing_change_check, recognition_end
from dataops.filings.counting import person_counts_take
from dataops.filings.documents import filing_build
from dataops.filings.obligations import FILING_THRESHOLD
from dataops.filings.pack import filing_pack
from dataops.filings.services import (
    FilingError,
    filing_acknowledge,
    filing_attach,
    filing_create,
    filing_generate,
    filing_review,
    filing_submit,
)
from dataops.models import DeletionRequest, Filing, FilingObligation, Holding, RegulatorAccount
from dataops.registry.services import system_save
from facerights import crypto
from tests import factories

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4 scanned and sealed"


def _bulk_people(system, count, *, also=None):
    """`count` distinct people held by `system`; the first half also held by `also` (duplicates across systems)."""
    import uuid

    from django.db.models import Max

    from facerights.db import bulk_insert

    wrapped = crypto.data_key_new()[1]
    now = timezone.now()
    first = (DataSubject.objects.aggregate(Max("pk"))["pk__max"] or 0) + 1
    bulk_insert(
        DataSubject,
        ["uuid", "wrapped_key", "created_at", "is_synthetic"],
        [(uuid.uuid4(), wrapped, now, False) for _ in range(count)],
    )
    ids = list(DataSubject.objects.filter(pk__gte=first).values_list("pk", flat=True))
    fields = ["subject", "system", "subject_key", "data_kind", "enrolled_at", "retention_until", "status"]
    rows = [(pk, system.pk, f"B{system.pk}-{pk}", "template", now, now.date(), "active") for pk in ids]
    if also is not None:
        rows += [(pk, also.pk, f"B{also.pk}-{pk}", "template", now, now.date(), "active") for pk in ids[: count // 2]]
    bulk_insert(Holding, fields, rows)
    return ids


def test_99999_people_open_nothing_and_one_more_opens_the_obligation_on_the_right_working_day(entity, purpose):
    first = factories.active_system(entity=entity, purpose=purpose)
    second = factories.active_system(entity=entity, purpose=purpose)
    _bulk_people(first, FILING_THRESHOLD - 1, also=second)  # duplicates across two systems count once
    person_counts_take(today=dt.date(2026, 1, 19))
    assert not FilingObligation.objects.exists()
    _bulk_people(second, 1)
    person_counts_take(today=dt.date(2026, 1, 20))
    obligation = FilingObligation.objects.get()
    assert (obligation.kind, obligation.triggered_on) == ("initial", dt.date(2026, 1, 20))
    # 30 working days from Tuesday 20 January 2026: across the Spring Festival (15 to 23
    # February, not counted) and the make-up Saturdays of 14 and 28 February (counted).
    assert obligation.due_on == dt.date(2026, 3, 9)
    person_counts_take(today=dt.date(2026, 1, 21))
    assert FilingObligation.objects.count() == 1


def test_alerts_at_80_95_and_100_percent(entity, system, django_capture_on_commit_callbacks):
    from dataops.filings.obligations import threshold_check

    with django_capture_on_commit_callbacks(execute=True):
        threshold_check(entity=entity, day=dt.date(2026, 5, 6), persons=96_000, previous=70_000)
    assert [m.subject for m in mail.outbox] == [
        f"{entity.name_zh} stores the faces of 96000 people (80% of the filing threshold)",
        f"{entity.name_zh} stores the faces of 96000 people (95% of the filing threshold)",
    ]
    assert not FilingObligation.objects.exists()


def test_the_officer_report_at_one_million_and_an_audit_every_two_years_above_ten_million(
    entity, system, django_capture_on_commit_callbacks
):
    from dataops.filings.services import obligation_fulfil, obligation_start

    def count(headcount, day):
        entity.pi_headcount, entity.pi_headcount_on = headcount, day
        entity.save()
        with django_capture_on_commit_callbacks(execute=True):
            person_counts_take(today=day)
        return {o.kind: o for o in FilingObligation.objects.filter(entity=entity, fulfilled_at=None)}

    assert count(999_999, dt.date(2026, 1, 19)) == {}
    report = count(1_000_000, dt.date(2026, 1, 20))["pipo_report"]
    assert report.due_on == dt.date(2026, 3, 9)  # 30 working days, as for the filing
    assert mail.outbox[-1].to == [entity.dpo_email]
    assert "audit" not in count(10_000_000, dt.date(2026, 2, 2))  # "more than" ten million
    audit = count(10_000_001, dt.date(2026, 2, 3))["audit"]
    assert audit.due_on == dt.date(2028, 2, 3)
    with pytest.raises(FilingError) as info:
        obligation_start(actor="dpo", obligation=report)  # reported to the city, not filed here
    assert info.value.code == "not_filed"
    with pytest.raises(FilingError) as info:
        obligation_fulfil(actor="dpo", obligation=audit, reference="  ")
    assert info.value.code == "reference"
    obligation_fulfil(actor="dpo", obligation=audit, reference="审计报告 2027-01")
    following = FilingObligation.objects.get(entity=entity, kind="audit", fulfilled_at=None)
    today = timezone.localdate()
    assert following.due_on == today.replace(year=today.year + 2)
    assert count(10_000_001, dt.date(2026, 2, 4)) == {"pipo_report": report, "audit": following}


def test_the_dpo_records_the_officer_report_in_the_admin_with_its_reference(client, entity):
    report = FilingObligation.objects.create(
        entity=entity, kind="pipo_report", triggered_on=dt.date(2026, 1, 20), due_on=dt.date(2026, 3, 9)
    )
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    url = reverse("admin:dataops_filingobligation_changelist")
    data = {"action": "record_done", "_selected_action": [report.pk], "reference": ""}
    refused = client.post(url, data, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "receipt number" in refused
    data["reference"] = "深网信函〔2026〕12号"
    client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    report.refresh_from_db()
    assert report.fulfilled_reference == "深网信函〔2026〕12号" and report.fulfilled_at is not None
    data["action"] = "start_filing"
    refused = client.post(url, data, follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "not filed through FaceRights" in refused and not Filing.objects.exists()


def test_a_headcount_needs_its_date_and_cannot_be_from_the_future(entity):
    from django.core.exceptions import ValidationError

    entity.pi_headcount = 1_200_000
    with pytest.raises(ValidationError, match="date"):
        entity.full_clean()
    entity.pi_headcount_on = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="future"):
        entity.full_clean()


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


def test_review_needs_every_attachment(entity, system):
    filing = filing_create(actor="t", entity=entity, kind="initial")
    filing_generate(actor="t", filing=filing)
    filing_build(filing_id=filing.pk)
    with pytest.raises(FilingError) as info:
        filing_review(actor="dpo", filing=filing)
    assert info.value.code == "attachments"


def test_a_submitted_filing_never_changes(filed):
    from facerights.models import AuditEvent

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


def test_the_pack_holds_the_forms_the_report_and_the_attachments_in_order(filed):
    import json
    import zipfile

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


def test_a_change_of_storage_on_a_filed_entity_opens_a_review_with_its_deadline(filed, system):
    filing_review(actor="dpo", filing=filed)
    filing_submit(actor="dpo", filing=filed)
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
    held = Holding.objects.filter(system__entity=entity, subject__is_synthetic=False)
    assert set(held.values_list("status", flat=True)) == {"deletion_pending"}
    deletions = DeletionRequest.objects.filter(trigger="recognition_ended")
    assert deletions.count() == 2 and sum(d.propagations.count() for d in deletions) == 4
    assert filing.kind == "cancellation" and filing.obligation.due_on == dt.date(2026, 4, 14)
    assert {s.status for s in entity.systems.all()} == {"retired"}


@pytest.mark.parametrize("case", ["bomb", "wrong-type", "too-large"])
def test_a_bad_attachment_is_refused_clearly(client, filed, case):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.tests.test_linking import _bomb

    content = {"bomb": _bomb(), "wrong-type": b"PK\x03\x04 a zip", "too-large": b"%PDF-" + b"0" * (5 * 1024 * 1024)}[
        case
    ]
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    before = filed.attachments.count()
    data = {
        "attachments-TOTAL_FORMS": "1",
        "attachments-INITIAL_FORMS": "0",
        "attachments-0-kind": "other",
        "attachments-0-upload": SimpleUploadedFile("scan.png", content),
        "agent_name": "张三",
    }
    response = client.post(reverse("admin:dataops_filing_change", args=[filed.pk]), data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert filed.attachments.count() == before
    body = response.content.decode()
    assert any(words in body for words in ("pixels", "PDF, PNG or JPEG", "5 MB", "像素", "PDF、PNG", "5 MB"))


# --- The regulator's area ------------------------------------------------------------------


@pytest.fixture
def submitted(filed):
    filing_review(actor="dpo", filing=filed)
    return filing_submit(actor="dpo", filing=filed)


def _regulator(client, province):
    user = factories.user_with_role("regulator")
    RegulatorAccount.objects.create(user=user, province=province, authority_name=f"网信办 {province}")
    client.force_login(user)
    return user


def test_the_regulator_of_the_province_downloads_checks_and_acknowledges(client, submitted):
    _regulator(client, submitted.province)
    assert submitted.number in client.get(reverse("portal:regulator_home")).content.decode()
    page = client.get(reverse("portal:regulator_filing", args=[submitted.number])).content.decode()
    assert submitted.snapshot_sha256 in page
    pdf = client.get(reverse("portal:regulator_document", args=[submitted.number, "application_form", "zh"]))
    assert pdf.content.startswith(b"%PDF")
    bundle = client.get(reverse("portal:regulator_evidence", args=[submitted.number])).json()
    assert bundle["snapshot_sha256"] == submitted.snapshot_sha256 and len(bundle["compliance_matrix"]) == 30
    check = client.post(
        reverse("portal:regulator_filing", args=[submitted.number]), {"fingerprint": submitted.snapshot_sha256}
    )
    assert check.context["result"]["snapshot"] is True
    client.post(reverse("portal:regulator_acknowledge", args=[submitted.number]))
    submitted.refresh_from_db()
    assert submitted.state == "acknowledged" and submitted.acknowledged_by.startswith("网信办")


def test_the_regulator_keeps_an_audit_anchor_that_shows_a_rewritten_log(client, submitted):
    from django.db import connection

    from facerights.models import AuditEvent

    _regulator(client, submitted.province)
    anchor = client.get(reverse("portal:regulator_evidence", args=[submitted.number])).json()["audit_anchor"]
    page = reverse("portal:regulator_filing", args=[submitted.number])
    assert client.post(page, {"fingerprint": anchor}).context["result"]["anchor"] is True
    first = AuditEvent.objects.filter(chain="registry").order_by("seq").first()
    with connection.cursor() as cursor:  # someone with database access rewrites history
        cursor.execute(f"UPDATE {AuditEvent._meta.db_table} SET actor = 'nobody' WHERE id = %s", [first.pk])
    checked = client.post(page, {"fingerprint": anchor}, HTTP_ACCEPT_LANGUAGE="en")
    assert checked.context["result"]["anchor"] is False
    assert "was changed after you received it" in checked.content.decode()


def test_a_regulator_of_another_province_gets_404_everywhere(client, submitted):
    _regulator(client, "44" if submitted.province != "44" else "11")
    assert submitted.number not in client.get(reverse("portal:regulator_home")).content.decode()
    for url in (
        reverse("portal:regulator_filing", args=[submitted.number]),
        reverse("portal:regulator_evidence", args=[submitted.number]),
        reverse("portal:regulator_document", args=[submitted.number, "application_form", "zh"]),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("portal:regulator_acknowledge", args=[submitted.number])).status_code == 404


def test_a_draft_is_invisible_to_the_regulator_and_others_see_no_regulator_area(client, filed, subject):
    _regulator(client, filed.province)
    assert client.get(reverse("portal:regulator_filing", args=[filed.number])).status_code == 404
    client.force_login(factories.user_with_role("data_subject"))
    assert client.get(reverse("portal:regulator_home")).status_code == 404


def test_acknowledging_needs_a_submitted_filing(filed):
    with pytest.raises(FilingError):
        filing_acknowledge(actor="r", filing=filed, authority="x")
