"""Roles as groups with permissions, kept in step with the code after every migrate.

- data subject and guardian: no admin permissions; what they see in the
  portal follows from the DataSubject linked to their account.
- DPO: everything in the registry, consents and requests, including the
  decisions an operator may not take (approving assessments, refusing requests).
- operator: day-to-day work, without those decisions.
- auditor: read-only, everything.
- regulator: nothing in the admin; the regulator area is scoped to one
  province (dataops.RegulatorAccount).
- desk: nothing in the admin; the front-desk screen, scoped to one legal
  entity (dataops.DeskClerk), acts for the person standing at the counter.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy


class Role:
    DATA_SUBJECT = "data_subject"
    GUARDIAN = "guardian"
    DPO = "dpo"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    REGULATOR = "regulator"
    DESK = "desk"

    ALL = (DATA_SUBJECT, GUARDIAN, DPO, OPERATOR, AUDITOR, REGULATOR, DESK)


ROLE_LABELS = {
    Role.DATA_SUBJECT: gettext_lazy("the person"),
    Role.GUARDIAN: gettext_lazy("guardian"),
    Role.DPO: gettext_lazy("data-protection officer"),
    Role.OPERATOR: gettext_lazy("operator"),
    Role.AUDITOR: gettext_lazy("auditor"),
    Role.REGULATOR: gettext_lazy("regulator"),
    Role.DESK: gettext_lazy("front-desk clerk"),
}


DOMAIN_APPS = ("facerights", "consent", "dataops", "django_celery_beat")

# Decisions kept for the DPO alone.
DPO_ONLY = {"approve_impactassessment", "refuse_request", "review_identitycheck", "decide_incident"}


def _permissions_for(role: str):
    domain = Permission.objects.filter(content_type__app_label__in=DOMAIN_APPS).select_related("content_type")
    view_only = domain.filter(codename__startswith="view_")
    if role == Role.AUDITOR:
        return view_only
    if role not in (Role.DPO, Role.OPERATOR):
        return Permission.objects.none()
    # Audit rows are append-only; accounts, and which province a regulator
    # sees, are managed by a superuser.
    editable = domain.exclude(
        Q(content_type__app_label="facerights", content_type__model__in=["auditevent", "auditchainhead", "user"])
        | Q(content_type__app_label="dataops", content_type__model="regulatoraccount")
    )
    if role == Role.OPERATOR:
        editable = editable.exclude(codename__in=DPO_ONLY).exclude(codename__startswith="delete_")
    return (editable | view_only).distinct()


def roles_ensure(sender=None, **kwargs) -> None:
    """Create the role groups and set their permissions (idempotent).

    Runs after each app migrates. The permissions of every domain app are created first:
    Django creates an app's permissions in the same signal, possibly after this runs, and
    the DPO would otherwise lack those of the last app until the next migrate.
    """
    for label in DOMAIN_APPS:
        create_permissions(apps.get_app_config(label), verbosity=0)
    for role in Role.ALL:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions_for(role))


def user_has_role(user, role: str) -> bool:
    return user.is_authenticated and user.groups.filter(name=role).exists()
