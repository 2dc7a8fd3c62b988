"""Every admin page opens for the DPO; the auditor sees but changes nothing; a regulator sees none."""

import pytest
from django.contrib import admin
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def _changelists():
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]


def test_every_changelist_opens_for_the_dpo(client, system, subject):
    factories.holding(subject, system)
    client.force_login(factories.user_with_role("dpo", is_staff=True))
    for url in _changelists():
        response = client.get(url)
        assert response.status_code in (200, 403), url


def test_the_auditor_sees_the_registry_but_cannot_change_it(client, system):
    client.force_login(factories.user_with_role("auditor", is_staff=True))
    url = reverse("admin:dataops_processingsystem_change", args=[system.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"name_zh": "改名"})
    assert response.status_code == 403
    system.refresh_from_db()
    assert system.name_zh != "改名"


def test_a_regulator_sees_no_admin_page(client):
    client.force_login(factories.user_with_role("regulator"))
    response = client.get("/admin/")
    assert response.status_code == 302  # sent to the admin login: not staff


def test_the_compliance_matrix_is_readable_by_the_dpo_and_the_auditor(client):
    for role in ("dpo", "auditor"):
        client.force_login(factories.user_with_role(role, is_staff=True))
        response = client.get(reverse("admin_compliance_matrix"))
        body = response.content.decode()
        assert response.status_code == 200, role
        assert 'id="R1"' in body and 'id="R30"' in body
        assert "test_a_private_space_is_refused_with_a_clear_error" in body


def test_the_compliance_matrix_is_not_for_staff_without_access(client):
    client.force_login(factories.user_with_role("data_subject", is_staff=True))
    assert client.get(reverse("admin_compliance_matrix")).status_code == 403
