"""A permission matrix over every admin page and action, for every role.

The list of admin models comes from the admin site itself: a model added to the
admin is covered without editing this file.
"""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from dataops.models import ImpactAssessment, Request
from dataops.requests.services import request_submit
from tests import factories

pytestmark = pytest.mark.django_db
ROLES = ("dpo", "operator", "auditor", "regulator")
DPO_ONLY_ACTIONS = {
    "approve",
    "refuse",
    "reject",
    "end_contract",
    "end_recognition",
    "transfer",
    "confirm_closing",
    "revoke_credentials",
    "send",
    "reject_closing",
}


def _models():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _login(client, role):
    user = factories.user_with_role(role, is_staff=role != "regulator")
    if role == "regulator":
        client.force_login(user)
    else:
        factories.staff_login(client, user)
    return user


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_page_answers_each_role_as_it_should(client, role, system, subject):
    factories.holding(subject, system)
    user = _login(client, role)
    for model, _model_admin in _models():
        meta = model._meta
        changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
        listing = client.get(changelist)
        adding = client.get(add)
        if role == "regulator":
            assert listing.status_code == 302 and adding.status_code == 302, meta.label  # to the login: not staff
            continue
        can_view = user.has_perm(f"{meta.app_label}.view_{meta.model_name}") or user.has_perm(
            f"{meta.app_label}.change_{meta.model_name}"
        )
        assert listing.status_code == (200 if can_view else 403), (role, meta.label, listing.status_code)
        if role == "auditor":
            assert adding.status_code == 403 or meta.model_name == "evidenceexport", (role, meta.label)


@pytest.mark.parametrize("role", ["dpo", "operator", "auditor"])
def test_actions_follow_the_role(role):
    user = factories.user_with_role(role, is_staff=True)
    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in _models():
        if not model_admin.has_view_or_change_permission(request):
            continue  # the changelist itself is refused (tested above)
        actions = set(model_admin.get_actions(request))
        if role == "auditor":
            assert actions <= {"verify_chains"}, (model._meta.label, actions)
        if role == "operator":
            assert not actions & DPO_ONLY_ACTIONS, (model._meta.label, actions)
    if role == "dpo":
        assert "approve" in admin.site._registry[ImpactAssessment].get_actions(request)
        assert "refuse" in admin.site._registry[Request].get_actions(request)


def test_an_auditor_changes_nothing(client, system):
    _login(client, "auditor")
    url = reverse("admin:dataops_processingsystem_changelist")
    response = client.post(url, {"action": "suspend", "_selected_action": [system.pk]})
    system.refresh_from_db()
    assert system.status == "active"
    assert response.status_code in (200, 302, 403)


def test_an_operator_cannot_refuse_a_request(client, subject):

    item = request_submit(actor="t", subject=subject, type="access")
    _login(client, "operator")
    client.post(
        reverse("admin:dataops_request_changelist"),
        {"action": "refuse", "_selected_action": [item.pk], "reason_code": "not_held", "text": "无"},
    )
    assert Request.objects.get(pk=item.pk).state == "received"
