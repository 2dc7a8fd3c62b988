"""Exact search by reference or key across the admin's lists."""

import pytest
from django.urls import reverse

from dataops.requests.services import request_submit
from tests import factories

pytestmark = pytest.mark.django_db


def test_searching_by_reference_or_key_finds_exactly_that(dpo_client, subject, system):
    holding = factories.holding(subject, system, key="EXACT-KEY-1")
    item = request_submit(actor="t", subject=subject, type="access")
    page = dpo_client.get(reverse("admin:dataops_request_changelist") + f"?q={item.reference.lower()}").content.decode()
    assert item.reference in page
    page = dpo_client.get(reverse("admin:dataops_holding_changelist") + "?q=EXACT-KEY-1").content.decode()
    assert f"/admin/dataops/holding/{holding.pk}/" in page
    page = dpo_client.get(reverse("admin:dataops_holding_changelist") + "?q=EXACT-KEY").content.decode()
    assert f"/admin/dataops/holding/{holding.pk}/" not in page
