"""The admin's index grouped by the DPO's jobs, not by Python package.

Django lists models app by app, in code-point order: sixteen `dataops` models in a row and
people's records under "Consent". Here the index (and the navigation sidebar) shows one
section per job, each in the order the work goes. A model no group names is still shown,
under "Other", so nothing registered is ever hidden. An app's own page (/admin/<app>/) is
Django's as usual.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _

# (section, the models in it, in the order the work goes)
SECTIONS = (
    (
        _("Registry"),
        (
            "dataops.EntityGroup",
            "dataops.LegalEntity",
            "dataops.Site",
            "dataops.ProcessingSystem",
            "dataops.DeviceGroup",
            "dataops.ImpactAssessment",
            "dataops.SystemTransfer",
            "dataops.Holding",
            "dataops.ProcessingDay",
            "dataops.ProcessingRefusal",
        ),
    ),
    (
        _("People and consents"),
        (
            "consent.DataSubject",
            "consent.Purpose",
            "consent.Notice",
            "consent.ConsentRecord",
            "consent.ConsentSession",
            "consent.Guardianship",
            "consent.IdentityCheck",
            "consent.DeceasedRepresentation",
            "consent.SubjectMatchReview",
        ),
    ),
    (
        _("Requests"),
        ("dataops.Request", "dataops.ResponseTimePolicy", "dataops.DeskClerk", "dataops.DeskVisit"),
    ),
    (
        _("Deletions"),
        ("dataops.DeletionRequest", "dataops.Propagation", "dataops.BulkJob", "dataops.ReconcileHold"),
    ),
    (
        _("Security incidents"),
        ("dataops.Incident", "dataops.IncidentNotice", "dataops.IncidentReport", "dataops.ContractReview"),
    ),
    (
        _("Filings"),
        ("dataops.FilingObligation", "dataops.Filing", "dataops.ChangeReview", "dataops.RegulatorAccount"),
    ),
    (_("Working-day calendar"), ("facerights.CalendarYear", "facerights.CalendarDay")),
    (
        _("Audit and evidence"),
        ("facerights.AuditEvent", "dataops.EvidenceExport"),
    ),
    (
        _("Accounts"),
        ("facerights.User", "auth.Group", "account.EmailAddress", "mfa.Authenticator"),
    ),
)


class FaceRightsAdminSite(admin.AdminSite):
    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)
        if app_label is not None:
            return apps  # one app's own page: as Django shows it
        models = {
            f"{app['app_label']}.{model['object_name']}".lower(): (app, model)
            for app in apps
            for model in app["models"]
        }
        sections = []
        for title, labels in SECTIONS:
            found = [models.pop(label.lower()) for label in labels if label.lower() in models]
            if found:
                sections.append(_section(str(title), found))
        if models:  # registered, but in no section yet: still shown
            sections.append(_section(str(_("Other")), list(models.values())))
        return sections


def _section(title: str, found: list) -> dict:
    first_app, first_model = found[0]
    return {
        "name": title,
        "app_label": first_app["app_label"],
        "app_url": first_model.get("admin_url") or first_app["app_url"],
        "has_module_perms": True,
        "models": [model for _app, model in found],
    }


class FaceRightsAdminConfig(AdminConfig):
    default_site = "facerights.admin_site.FaceRightsAdminSite"
