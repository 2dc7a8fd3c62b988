"""The registry in the admin: errors a DPO can act on, and evidence kept."""

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from dataops.registry.credentials import webhook_secrets
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


def test_a_draft_systems_page_lists_what_activation_needs_with_links(dpo_client, entity, site, purpose):
    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    page = dpo_client.get(
        reverse("admin:dataops_processingsystem_change", args=[system.pk]), headers={"Accept-Language": "en"}
    ).content.decode()
    checklist = page[page.index('id="activation-checklist"') : page.index("</section>")]
    assert (
        "Missing:</strong>\n        An approved impact assessment: It needs an approved impact assessment" in checklist
    )
    assert reverse("admin:dataops_impactassessment_add") in checklist
    assert f"{reverse('admin:consent_notice_add')}?system={system.pk}" in checklist
    assert "Done:</strong>\n        At least one purpose\n" in checklist
    assert "A signing secret for its webhook" in checklist  # a push system without one
    for field in ("name_zh", "integration", "webhook_url", "is_internal", "receives_restrictions", "alternatives"):
        assert f'name="{field}"' in page, field  # every field of the registration is there to fill in


def _system_form(dpo_client, system, **changes):
    """The admin's own form for the system, as the DPO's change page builds it, filled with these changes."""
    page = dpo_client.get(reverse("admin:dataops_processingsystem_change", args=[system.pk]))
    form_class = type(page.context["adminform"].form)
    data = {
        **{k: v for k, v in model_to_dict(system).items() if v is not None},
        "purposes": [p.pk for p in system.purposes.all()],
        **changes,
    }
    data = {k: v for k, v in data.items() if v is not False}  # an unticked box is absent from a real POST
    return form_class(data=data, instance=system)


def test_a_loopback_or_private_webhook_is_flagged_when_the_system_is_saved(dpo_client, system):
    form = _system_form(dpo_client, system, webhook_url="http://127.0.0.1:8080/hook", is_internal=False)
    assert not form.is_valid()
    assert "环回、私有或链路本地地址（127.0.0.1）" in " ".join(form.errors["webhook_url"])
    private = _system_form(dpo_client, system, webhook_url="http://10.1.2.3/hook", is_internal=False)
    assert not private.is_valid() and "webhook_url" in private.errors
    internal = _system_form(dpo_client, system, webhook_url="http://127.0.0.1:8080/hook", is_internal=True)
    assert "webhook_url" not in internal.errors  # the DPO says it is on their own network
    public = _system_form(dpo_client, system, webhook_url="https://93.184.216.34/hook", is_internal=False)
    assert "webhook_url" not in public.errors


def test_a_new_secret_is_shown_once_on_a_page_to_hand_to_the_vendor(dpo_client, system):
    response = dpo_client.post(
        reverse("admin:dataops_processingsystem_changelist"),
        {"action": "rotate_webhook_secret", "_selected_action": [system.pk]},
        headers={"Accept-Language": "en"},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    [secret] = [s for s in webhook_secrets(system) if s in page]  # the live secret, on the page
    assert secret.startswith("whsec_") and 'data-copy="value-1"' in page
    assert f"/api/v1/systems/{system.pk}/callbacks" in page and "the only time these values are shown" in page
    later = dpo_client.get(reverse("admin:dataops_processingsystem_changelist")).content.decode()
    assert secret not in later  # not kept in a message for the next page
