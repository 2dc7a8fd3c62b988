"""Record exports: CSVs without personal data, for whoever asked."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from dataops.requests.services import request_submit
from dataops.workbench.models import EvidenceExport
from dataops.workbench.records import record_export_build, record_export_request
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_record_export_is_a_csv_without_personal_data(dpo_client, subject, system):
    factories.holding(subject, system)
    request_submit(actor="t", subject=subject, type="access")
    today = timezone.localdate()
    user = dpo_client.session["_auth_user_id"]

    export = record_export_request(
        actor="t", user=get_user_model().objects.get(pk=user), kind="requests", date_from=today, date_to=today
    )
    record_export_build(export_id=export.pk)
    response = dpo_client.get(reverse("admin:dataops_evidenceexport_download", args=[export.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["reference", "type", "type_zh", "type_en"] and len(rows) == 2
    # Each code comes with its label in both languages, each time in Beijing time (used to be "access", UTC).
    record = dict(zip(rows[0], rows[1], strict=True))
    assert (record["type"], record["type_zh"], record["type_en"]) == (
        "access",
        "查阅：持有我的哪些信息",
        "access: what is held about me",
    )
    assert record["received_at"].endswith("+08:00")
    assert "13800138000" not in response.content.decode("utf-8-sig") and "王小明" not in response.content.decode(
        "utf-8-sig"
    )
    assert EvidenceExport.objects.get(pk=export.pk).rows == 1


def test_a_record_export_is_only_for_who_asked(client, dpo_client, subject):

    owner = get_user_model().objects.get(pk=dpo_client.session["_auth_user_id"])
    today = timezone.localdate()
    export = record_export_request(actor="t", user=owner, kind="audit", date_from=today, date_to=today)
    record_export_build(export_id=export.pk)
    factories.staff_login(dpo_client, factories.user_with_role("auditor", is_staff=True))
    assert dpo_client.get(reverse("admin:dataops_evidenceexport_download", args=[export.pk])).status_code == 404


def test_an_export_asked_for_in_chinese_has_chinese_headers_over_the_same_columns(dpo_client, subject, system):
    factories.holding(subject, system)
    request_submit(actor="t", subject=subject, type="access")
    today = timezone.localdate()
    user = get_user_model().objects.get(pk=dpo_client.session["_auth_user_id"])
    dpo_client.post(
        reverse("admin:dataops_evidenceexport_add"),
        {"kind": "requests", "date_from": today.isoformat(), "date_to": today.isoformat()},
        headers={"Accept-Language": "zh-hans"},
    )
    export = EvidenceExport.objects.get(requested_by=user)
    record_export_build(export_id=export.pk)
    response = dpo_client.get(reverse("admin:dataops_evidenceexport_download", args=[export.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["编号", "类型", "类型（中文）", "类型（英文）"]
    assert all(not cell.isascii() for cell in rows[0])  # every header in Chinese, none left as a code
    assert rows[1][1:3] == ["access", "查阅：持有我的哪些信息"]  # the rows keep the codes, beside their labels
