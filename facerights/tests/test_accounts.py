"""Accounts change through facerights.accounts, each change audited: access, phones, second factors."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.urls import reverse

from facerights.accounts import user_phone_set
from facerights.models import AuditEvent, User
from tests import factories

pytestmark = pytest.mark.django_db


def test_making_an_account_staff_in_the_admin_is_recorded_before_and_after(admin_client):
    account = factories.user_with_role("data_subject", username="someone")
    url = reverse("admin:facerights_user_change", args=[account.pk])
    response = admin_client.post(
        url,
        {
            "username": "someone",
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_active": "on",
            "is_staff": "on",
            "groups": [Group.objects.get(name="operator").pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    account.refresh_from_db()
    assert account.is_staff and list(account.groups.values_list("name", flat=True)) == ["operator"]
    event = AuditEvent.objects.get(action="account.changed", object_id=str(account.pk))
    assert event.data["before"]["is_staff"] is False and event.data["before"]["groups"] == ["data_subject"]
    assert event.data["after"]["is_staff"] is True and event.data["after"]["groups"] == ["operator"]


def test_no_one_deletes_an_account_or_edits_an_address_or_a_role_in_the_admin(admin_client):
    account = factories.user_with_role("data_subject")
    assert admin_client.get(reverse("admin:facerights_user_delete", args=[account.pk])).status_code == 403
    email = account.emailaddress_set.create(email="a@example.com", verified=False, primary=True)
    change = reverse("admin:account_emailaddress_change", args=[email.pk])
    admin_client.post(change, {"email": "a@example.com", "verified": "on", "primary": "on", "user": account.pk})
    email.refresh_from_db()
    assert email.verified is False  # verified only by its owner, through allauth
    role = Group.objects.get(name="auditor")
    admin_client.post(reverse("admin:auth_group_change", args=[role.pk]), {"name": "auditor", "permissions": []})
    assert role.permissions.exists()


def test_a_lost_second_factor_is_removed_by_a_superuser_and_recorded(admin_client):
    staff = factories.staff_login(admin_client.__class__(), factories.user_with_role("dpo", is_staff=True))
    authenticator = Authenticator.objects.get(user=staff)
    url = reverse("admin:mfa_authenticator_delete", args=[authenticator.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Authenticator.objects.filter(pk=authenticator.pk).exists()
    assert AuditEvent.objects.filter(action="account.authenticator_removed", object_id=str(staff.pk)).count() == 1


def test_setting_a_phone_is_recorded_without_the_number():
    account = factories.user_with_role("data_subject")
    user_phone_set(actor="user:x", user=account, phone="+8613700137000", verified=True)
    event = AuditEvent.objects.get(action="account.phone_set", object_id=str(account.pk))
    assert event.data == {"verified": True}
    assert "13700137000" not in str(event.data) and User.objects.get(pk=account.pk).phone_verified
