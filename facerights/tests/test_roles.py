import pytest
from django.contrib.auth.models import Group

from facerights.roles import Role

pytestmark = pytest.mark.django_db


def _codenames(role):
    return set(Group.objects.get(name=role).permissions.values_list("content_type__app_label", "codename"))


def test_every_role_exists():
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.ALL)


def test_the_auditor_only_views():
    perms = _codenames(Role.AUDITOR)
    assert perms
    assert all(codename.startswith("view_") for _app, codename in perms)
    assert ("facerights", "view_auditevent") in perms


def test_the_operator_works_but_does_not_decide():
    perms = _codenames(Role.OPERATOR)
    assert ("dataops", "change_processingsystem") in perms
    assert ("dataops", "approve_impactassessment") not in perms
    assert ("dataops", "refuse_request") not in perms
    assert not any(codename.startswith("delete_") for _app, codename in perms)


def test_the_dpo_decides():
    perms = _codenames(Role.DPO)
    assert {("dataops", "approve_impactassessment"), ("dataops", "refuse_request")} <= perms


def test_nobody_may_edit_the_audit_log():
    for role in Role.ALL:
        perms = _codenames(role)
        assert ("facerights", "change_auditevent") not in perms
        assert ("facerights", "delete_auditevent") not in perms


@pytest.mark.parametrize("role", [Role.REGULATOR, Role.DATA_SUBJECT, Role.GUARDIAN])
def test_people_outside_the_company_have_no_admin_permissions(role):
    assert _codenames(role) == set()
