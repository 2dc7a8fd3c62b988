"""Filings in the admin: obligations recorded, attachments checked."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dataops.filings.models import Filing, FilingObligation
from portal.tests.test_linking import _bomb
from tests import factories

pytestmark = pytest.mark.django_db


PDF = b"%PDF-1.4 scanned and sealed"


def test_the_dpo_records_the_officer_report_in_the_admin_with_its_reference(client, entity):
    report = FilingObligation.objects.create(
        entity=entity,
        kind="pipo_report",
        triggered_on=dt.date(2026, 1, 20),
        due_on=dt.date(2026, 3, 9),
        due_earliest=dt.date(2026, 3, 9),
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


@pytest.mark.parametrize("case", ["bomb", "wrong-type", "too-large"])
def test_a_bad_attachment_is_refused_clearly(client, filed, case):

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
