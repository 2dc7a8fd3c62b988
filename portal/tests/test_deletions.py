"""Withdrawing from the portal, watching the deletion, the certificate; vendors confirming by link."""

import datetime as dt
import subprocess

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from consent.models import ConsentRecord
from consent.services import subject_link_user
from dataops.deletions.delivery import manual
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm
from dataops.deletions.tasks import propagations_dispatch
from dataops.models import DeletionRequest, Propagation
from tests import factories

pytestmark = pytest.mark.django_db


def test_withdrawal_takes_one_confirmation_and_opens_the_deletion(subject_client, subject, system):
    holding = factories.holding(subject, system)
    dashboard = subject_client.get(reverse("portal:dashboard")).content.decode()
    confirm_url = reverse("portal:consent_withdraw_confirm", args=[holding.consent.pk])
    assert confirm_url in dashboard  # click 1: "withdraw consent"
    page = subject_client.get(confirm_url)
    assert page.status_code == 200
    response = subject_client.post(reverse("portal:consent_withdraw", args=[holding.consent.pk]))  # click 2: confirm
    deletion = DeletionRequest.objects.get(subject=subject)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:deletion_status", args=[deletion.reference])
    assert ConsentRecord.objects.get(pk=holding.consent.pk).state == "withdrawn"
    assert deletion.trigger == "consent_withdrawn" and deletion.request.type == "withdrawal"
    assert list(deletion.propagations.values_list("system_id", flat=True)) == [system.pk]


def test_withdrawing_asks_for_nothing_but_the_click(subject_client, subject, system):
    holding = factories.holding(subject, system)
    page = subject_client.get(reverse("portal:consent_withdraw_confirm", args=[holding.consent.pk])).content.decode()
    start = page.index('<form method="post" action="/consents/')
    form = page[start : page.index("</form>", start)]
    assert form.count("<input") == 1  # the CSRF token and nothing else
    assert "<textarea" not in form and "<select" not in form


def test_nobody_else_can_withdraw_or_watch(client, subject, other_subject, system):
    holding = factories.holding(subject, system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    intruder = factories.user_with_role("data_subject")
    subject_link_user(actor="t", subject=other_subject, user=intruder)
    client.force_login(intruder)
    urls = [
        reverse("portal:consent_withdraw_confirm", args=[holding.consent.pk]),
        reverse("portal:deletion_status", args=[deletion.reference]),
        reverse("portal:deletion_status_json", args=[deletion.reference]),
        reverse("portal:deletion_certificate", args=[deletion.reference]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("portal:consent_withdraw", args=[holding.consent.pk])).status_code == 404
    assert ConsentRecord.objects.get(pk=holding.consent.pk).state == "active"
    client.logout()
    for url in urls:
        assert client.get(url).status_code == 302, url  # to sign-in


def test_the_status_page_shows_each_system_and_updates(subject_client, subject, system, entity, purpose):
    second = factories.active_system(entity=entity, purpose=purpose, name_zh="第二个系统")
    factories.holding(subject, system)
    factories.holding(subject, second)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    page = subject_client.get(reverse("portal:deletion_status", args=[deletion.reference]))
    assert "第二个系统" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    first = deletion.propagations.get(system=system)
    propagation_confirm(actor="t", propagation=first, outcome="deleted", evidence={"n": 1})
    data = subject_client.get(reverse("portal:deletion_status_json", args=[deletion.reference])).json()
    assert sorted(row["state"] for row in data["systems"]) == ["deleted", "pending"]
    assert data["completed"] is False


def test_the_certificate_lists_every_system_in_chinese_with_an_embedded_cjk_font(
    subject_client, subject, system, tmp_path
):
    factories.holding(subject, system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    url = reverse("portal:deletion_certificate", args=[deletion.reference])
    assert subject_client.get(url).status_code == 404  # not before every system has confirmed
    propagation_confirm(actor="t", propagation=deletion.propagations.get(), outcome="deleted", evidence={"n": 1})
    response = subject_client.get(url)
    assert response["Content-Type"] == "application/pdf"
    path = tmp_path / "certificate.pdf"
    path.write_bytes(response.content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "删除证明" in text and system.name_zh in text and deletion.reference in text
    assert response["X-Certificate-Fingerprint"][:16] in text.replace("\n", "")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts and " yes " in fonts  # a CJK font, embedded
    again = subject_client.get(url)
    assert again["X-Certificate-Fingerprint"] == response["X-Certificate-Fingerprint"]


# --- Vendors without an API ---------------------------------------------------------------


@pytest.fixture
def manual_propagation(entity, purpose, subject):
    system = factories.active_system(
        entity=entity, purpose=purpose, integration="manual", webhook_url="", contact_email="vendor@example.com"
    )
    factories.holding(subject, system, key="VENDOR-KEY-1")
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    propagations_dispatch(system.pk)
    return deletion.propagations.get()


def _link(message) -> str:
    return next(line for line in message.body.splitlines() if "/vendor/deletions/" in line).strip()


def test_the_vendor_is_emailed_a_thin_instruction_with_a_link(manual_propagation):
    [message] = mail.outbox
    assert message.to == ["vendor@example.com"]
    assert "VENDOR-KEY-1" in message.body and "13800138000" not in message.body
    p = Propagation.objects.get(pk=manual_propagation.pk)
    assert p.state == "sent" and p.next_attempt_at > p.sent_at  # a reminder is scheduled


def test_the_vendor_confirms_once_with_a_certificate(client, manual_propagation):
    path = _link(mail.outbox[0]).split("localhost:8000", 1)[1]
    assert client.get(path).status_code == 200
    pdf = SimpleUploadedFile("cert.pdf", b"%PDF-1.4 certificate", content_type="application/pdf")
    form = {"outcome": "deleted", "performed_by": "张工 运维", "performed_at": "2026-11-20T10:00", "certificate": pdf}
    assert client.post(path, form).status_code == 200
    p = Propagation.objects.get(pk=manual_propagation.pk)
    assert p.state == "deleted"
    assert p.evidence["channel"] == "manual" and len(p.evidence["certificate_sha256"]) == 64
    assert p.deletion_request.state == "completed"
    assert client.get(path).status_code == 410  # single use
    assert client.post(path, form).status_code == 410


def test_a_reminder_replaces_the_earlier_link(client, manual_propagation):
    old = _link(mail.outbox[0]).split("localhost:8000", 1)[1]
    Propagation.objects.filter(pk=manual_propagation.pk).update(next_attempt_at=manual_propagation.sent_at)
    propagations_dispatch(manual_propagation.system_id)
    assert len(mail.outbox) == 2
    assert client.get(old).status_code == 410
    assert client.get(_link(mail.outbox[1]).split("localhost:8000", 1)[1]).status_code == 200


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            SimpleUploadedFile("x.exe", b"MZ\x90\x00binary", content_type="application/pdf"),
            "请上传 PDF、PNG 或 JPEG 文件",
        ),
        (
            SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (5 * 1024 * 1024), content_type="application/pdf"),
            "文件超过 5 MB",
        ),
    ],
    ids=["wrong-type", "too-large"],
)
def test_a_bad_certificate_is_refused_and_the_link_still_works(client, manual_propagation, upload, message):
    path = _link(mail.outbox[0]).split("localhost:8000", 1)[1]
    form = {"outcome": "deleted", "performed_by": "张工", "performed_at": "2026-11-20T10:00", "certificate": upload}
    response = client.post(path, form)
    assert response.status_code == 200 and message in response.content.decode()
    assert Propagation.objects.get(pk=manual_propagation.pk).state == "sent"
    assert client.get(path).status_code == 200


def test_held_needs_a_reason(client, manual_propagation):
    path = _link(mail.outbox[0]).split("localhost:8000", 1)[1]
    response = client.post(path, {"outcome": "held", "performed_by": "张工", "performed_at": "2026-11-20T10:00"})
    assert "请说明保留数据的理由" in response.content.decode()
    assert Propagation.objects.get(pk=manual_propagation.pk).state == "sent"


def test_a_forged_or_expired_link_is_refused(client, manual_propagation, monkeypatch):
    path = _link(mail.outbox[0]).split("localhost:8000", 1)[1]
    assert client.get(path[:-5] + "xxxx/").status_code == 410
    monkeypatch.setattr(manual, "LINK_LIFETIME", dt.timedelta(seconds=-1))
    assert client.get(path).status_code == 410
