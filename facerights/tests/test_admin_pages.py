"""Every admin page opens for the DPO; the auditor sees but changes nothing; a regulator sees none."""

import time

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.contrib import admin
from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db


def _changelists():
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model in admin.site._registry
    ]


# The DPO sees every list of the domain; accounts' addresses, second factors and the roles
# themselves are a superuser's (facerights.roles).
DOMAIN = ("facerights", "consent", "dataops", "django_celery_beat")


def test_every_changelist_opens_for_the_dpo(dpo_client, system, subject):
    factories.holding(subject, system)
    statuses = {
        model._meta.label: dpo_client.get(
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        ).status_code
        for model in admin.site._registry
    }
    expected = {label: 200 if label.split(".")[0] in DOMAIN else 403 for label in statuses}
    assert statuses == expected


def test_the_auditor_sees_the_registry_but_cannot_change_it(client, system):
    factories.staff_login(client, factories.user_with_role("auditor", is_staff=True))
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
        factories.staff_login(client, factories.user_with_role(role, is_staff=True))
        response = client.get(reverse("admin_compliance_matrix"))
        body = response.content.decode()
        assert response.status_code == 200, role
        assert 'id="R1"' in body and 'id="R30"' in body
        assert "test_a_private_space_is_refused_with_a_clear_error" in body


def test_the_compliance_matrix_is_not_for_staff_without_access(client):
    factories.staff_login(client, factories.user_with_role("data_subject", is_staff=True))
    assert client.get(reverse("admin_compliance_matrix")).status_code == 403


def test_the_admin_login_hands_over_to_allauth(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_staff_without_a_second_factor_are_sent_to_set_one_up(client):
    user = factories.user_with_role("dpo", is_staff=True)
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_index")


def test_staff_who_signed_in_without_their_second_factor_must_sign_in_again(client):
    user = factories.user_with_role("dpo", is_staff=True)
    factories.staff_login(client, user, second_factor=False)

    TOTP.activate(user, generate_totp_secret())
    response = client.get("/admin/dataops/request/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session


def test_the_dpo_signs_in_with_password_and_totp_and_reaches_the_admin(client):

    user = factories.user_with_role("dpo", is_staff=True, username="dpo1")
    EmailAddress.objects.create(user=user, email="dpo1@example.com", verified=True, primary=True)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    response = client.post(reverse("account_login"), {"login": "dpo1@example.com", "password": "correct horse 42"})
    assert response.status_code == 302 and response["Location"] == reverse("mfa_authenticate")
    assert client.get("/admin/").status_code == 302  # not yet: the second factor is pending
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    client.post(reverse("mfa_authenticate"), {"code": code})
    assert client.get("/admin/").status_code == 200


def test_the_admin_index_is_grouped_by_job_and_hides_nothing(admin_client):
    page = admin_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
    sections = ["Registry", "People and consents", "Requests", "Deletions", "Security incidents", "Filings"]
    positions = [page.index(f"Models in the {title} application") for title in sections]
    assert positions == sorted(positions)
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert url in page, f"{model._meta.label} is missing from the index"


def test_the_compliance_matrix_states_are_labels_in_the_admins_language(client):
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    body = client.get(reverse("admin_compliance_matrix"), headers={"Accept-Language": "zh-hans"}).content.decode()
    row = body[body.index('id="R13"') :]
    row = row[: row.index("</tr>")]
    assert "<strong>已满足</strong>" in row and "<strong>met</strong>" not in body
