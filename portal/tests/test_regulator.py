"""The regulator's area: scoped to its province, downloads, checks, acknowledgement."""

import hashlib
import io
import json
import zipfile

import pytest
from allauth.account.models import EmailAddress
from django.db import connection
from django.test import Client
from django.urls import reverse

from dataops.desk.models import DeskClerk
from dataops.filings.services import (
    filing_review,
    filing_submit,
)
from dataops.models import RegulatorAccount
from dataops.registry.provinces import Province
from facerights.models import AuditEvent
from facerights.services import record_save
from tests import factories

pytestmark = pytest.mark.django_db


PDF = b"%PDF-1.4 scanned and sealed"


@pytest.fixture
def submitted(filed):
    filing_review(actor="dpo", filing=filed)
    return filing_submit(actor="dpo", filing=filed, receipt_number="备-2026-0001")


def _regulator(client, province):
    return factories.regulator_login(client, province=province, authority=f"网信办 {province}")


def test_the_regulator_of_the_province_downloads_checks_and_acknowledges(client, submitted):
    _regulator(client, submitted.province)
    assert submitted.number in client.get(reverse("portal:regulator_home")).content.decode()
    page = client.get(reverse("portal:regulator_filing", args=[submitted.number])).content.decode()
    assert submitted.snapshot_sha256 in page
    pdf = client.get(reverse("portal:regulator_document", args=[submitted.number, "application_form", "zh"]))
    assert pdf.content.startswith(b"%PDF")
    bundle = client.get(reverse("portal:regulator_evidence", args=[submitted.number])).json()
    assert bundle["snapshot_sha256"] == submitted.snapshot_sha256 and len(bundle["compliance_matrix"]) == 30
    assert bundle["incidents"] == []  # none recorded (dataops/incidents/tests/test_reports.py fills one)
    check = client.post(
        reverse("portal:regulator_filing", args=[submitted.number]), {"fingerprint": submitted.snapshot_sha256}
    )
    assert check.context["result"]["snapshot"] is True
    client.post(reverse("portal:regulator_acknowledge", args=[submitted.number]))
    submitted.refresh_from_db()
    assert submitted.state == "acknowledged" and submitted.acknowledged_by.startswith("网信办")


def test_the_regulator_keeps_an_audit_anchor_that_shows_a_rewritten_log(client, submitted):

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


def test_the_regulator_gets_the_pack_and_the_scans_and_the_pack_never_changes(client, submitted):
    # Used to pass: the regulator's area had the PDFs only, and the pack's bytes changed at every download.
    _regulator(client, submitted.province)
    url = reverse("portal:regulator_pack", args=[submitted.number])
    first = client.get(url).content
    factories.entity()  # the audit log moves on
    assert client.get(url).content == first
    with zipfile.ZipFile(io.BytesIO(first)) as pack:
        manifest = json.loads(pack.read("manifest.json"))
        assert manifest["audit_anchor"] == submitted.submitted_anchor
        assert manifest["signature"] == submitted.snapshot_signature
    scan = submitted.attachments.get(kind="legal_rep_id")
    response = client.get(reverse("portal:regulator_attachment", args=[submitted.number, scan.pk]))
    assert hashlib.sha256(response.content).hexdigest() == scan.sha256

    def check(fingerprint):
        return client.post(
            reverse("portal:regulator_filing", args=[submitted.number]), {"fingerprint": fingerprint}
        ).content.decode()

    assert "与以下扫描件附件一致" in check(scan.sha256) or "scanned attachment" in check(scan.sha256)
    pack_sha = hashlib.sha256(first).hexdigest()
    assert "ZIP" in check(pack_sha)
    notice = submitted.snapshot["D"][0]["notice_sha256"]
    assert "告知书指纹" in check(notice)  # a fingerprint the form prints from the registry, named where it stands
    sign = submitted.snapshot["D"][0]["signage_evidence"][0]["sha256"]
    assert "显著提示标识的证明材料" in check(sign) and "signage_evidence" not in check(sign)  # words, never a key
    assert "与本备案的任何内容都不一致" in check("0" * 64) or "matches nothing" in check("0" * 64)


def test_a_regulator_without_a_second_factor_is_sent_to_set_one_up(client, submitted):
    user = factories.user_with_role("regulator")
    RegulatorAccount.objects.create(user=user, province=submitted.province, authority_name="网信办")
    client.force_login(user)  # a password alone
    response = client.get(reverse("portal:regulator_filing", args=[submitted.number]))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_index")
    factories.staff_login(client, user, second_factor=False)  # has a factor now? no: still none
    assert client.get(reverse("portal:regulator_home"))["Location"] == reverse("mfa_index")
    factories.staff_login(client, user)  # with a second factor, used in this sign-in
    assert client.get(reverse("portal:regulator_home")).status_code == 200


def test_after_signing_in_each_role_lands_where_its_work_is(db):
    landings = {"regulator": "/regulator/", "desk": "/desk/", "data_subject": "/me/"}
    for role, landing in landings.items():
        user = factories.user_with_role(role, password="correct horse 42")
        user.email = f"{role}@example.com"
        user.save()
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        if role == "desk":
            record_save(actor="t", instance=DeskClerk(user=user, entity=factories.entity()))
        response = Client().post(reverse("account_login"), {"login": user.email, "password": "correct horse 42"})
        assert response.status_code == 302 and response["Location"] == landing, role


def test_a_regulators_navigation_is_for_their_role(regulator_client):
    page = regulator_client.get(reverse("portal:regulator_home"), headers={"Accept-Language": "en"}).content.decode()
    nav = page[page.index("<nav") : page.index("</nav>")]
    assert reverse("portal:regulator_home") in nav and reverse("portal:dashboard") not in nav


def test_the_regulators_page_names_their_province(client, submitted):
    _regulator(client, submitted.province)
    name = Province(submitted.province).label
    page = client.get(reverse("portal:regulator_home"), headers={"Accept-Language": "zh-hans"}).content.decode()
    assert f"在{name}提交的备案" in page and "您所在省份" not in page
