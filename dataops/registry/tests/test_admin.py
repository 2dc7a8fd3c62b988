"""The registry in the admin: errors a DPO can act on, and evidence kept."""

import pytest
from django.urls import reverse

from dataops.registry.models import ImpactAssessment, LegalEntity, Site
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_admin_shows_the_private_space_error(admin_client, entity):
    response = admin_client.post(
        "/admin/dataops/site/add/",
        {"entity": entity.pk, "name_zh": "客房", "address": "x", "is_private_space": "on"},
    )
    assert response.status_code == 200
    assert "私密空间" in response.content.decode()  # the admin speaks Chinese by default
    assert not Site.objects.filter(name_zh="客房").exists()


def test_the_admin_form_explains_a_wrong_credit_code(admin_client):
    response = admin_client.post(
        "/admin/dataops/legalentity/add/",
        {
            "name_zh": "错误代码公司",
            "credit_code": "9144030071526726XH",
            "province": "44",
            "registered_address": "深圳",
            "legal_representative": "某人",
            "dpo_name": "某人",
            "dpo_email": "dpo@example.com",
        },
    )
    assert response.status_code == 200
    assert "校验码不匹配" in response.content.decode()
    assert not LegalEntity.objects.filter(name_zh="错误代码公司").exists()


def test_the_admin_refuses_to_delete_a_recent_assessment(admin_client, system):
    assessment = system.assessments.get()
    response = admin_client.post(f"/admin/dataops/impactassessment/{assessment.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert ImpactAssessment.objects.filter(pk=assessment.pk).exists()


def test_every_staff_read_of_a_persons_record_is_audited_in_their_chain(dpo_client, subject, system):
    # Used to pass: a DPO could open anyone's records in the admin and leave no trace.
    holding = factories.holding(subject, system, key="READ-1")
    assert dpo_client.get(reverse("admin:dataops_holding_change", args=[holding.pk])).status_code == 200
    read = AuditEvent.objects.get(action="record.viewed")
    assert read.chain == subject.audit_chain and read.actor.startswith("user:")
    assert read.data == {"type": "dataops.holding"}

    dpo_client.get(reverse("admin:dataops_holding_changelist"), {"q": "READ-1"})
    search = AuditEvent.objects.get(action="records.searched")
    assert search.data == {"type": "dataops.holding", "results": 1}
    assert "READ-1" not in str(search.data)  # the term may be personal: never kept

    dpo_client.get(reverse("admin:dataops_holding_changelist"))  # browsing without a search
    assert AuditEvent.objects.filter(action="records.searched").count() == 1


def test_the_alternatives_are_offered_as_labelled_checkboxes(dpo_client, system):
    url = reverse("admin:dataops_processingsystem_change", args=[system.pk])
    page = dpo_client.get(url, headers={"Accept-Language": "en"}).content.decode()
    assert 'type="checkbox" name="alternatives" value="pin"' in page and "check by staff" in page
