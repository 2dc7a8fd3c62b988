"""The registry in the admin: entities, sites, systems, assessments, holdings."""

import datetime as dt

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from facerights.admin import (
    AuditedModelAdmin,
    EstimatedCountPaginator,
    ExactSearchMixin,
    ReadOnlyAdmin,
    run_service_action,
)
from facerights.audit import actor_for

from .credentials import credential_issue
from .models import EntityGroup, Holding, ImpactAssessment, LegalEntity, ProcessingSystem, Site, SystemCredential
from .services import (
    impact_assessment_approve,
    impact_assessment_deletable,
    impact_assessment_delete,
    impact_assessment_submit,
    system_activate,
    system_deliveries_pause,
    system_enrolments_pause,
    system_retire,
    system_save,
    system_suspend,
)


@admin.register(EntityGroup)
class EntityGroupAdmin(AuditedModelAdmin):
    list_display = ("name_zh", "name_en")


@admin.register(LegalEntity)
class LegalEntityAdmin(AuditedModelAdmin):
    """Legal entities. filings/admin.py extends this admin with the daily count and "End face recognition"."""

    list_display: tuple[str, ...] = ("name_zh", "credit_code", "province", "dpo_name", "recognition_ended_on")
    list_filter = ("province",)
    search_fields = ("name_zh", "name_en", "=credit_code")


@admin.register(Site)
class SiteAdmin(AuditedModelAdmin):
    list_display = ("name_zh", "entity", "is_public_place", "signage_present")
    list_filter = ("entity", "is_public_place")


@admin.register(ProcessingSystem)
class ProcessingSystemAdmin(admin.ModelAdmin):
    list_filter = ("status", "kind", "integration", "entity")
    search_fields = ("name_zh", "name_en")
    readonly_fields = (
        "status",
        "reassessment_since",
        "enrolments_paused",
        "deliveries_paused",
        "connection_verified_at",
        "retired_at",
        "contract_ended_on",
    )
    filter_horizontal = ("purposes",)
    """Processing systems. deletions/admin.py extends this admin with the connection test."""

    actions = [
        "activate",
        "suspend",
        "retire",
        "pause_enrolments",
        "resume_enrolments",
        "pause_deliveries",
        "resume_deliveries",
        "issue_device_token",
        "rotate_webhook_secret",
    ]
    list_display: tuple[str, ...] = (
        "name_zh",
        "entity",
        "site",
        "kind",
        "integration",
        "storage_location",
        "condition",
        "enrolments_paused",
        "deliveries_paused",
        "connection_verified_at",
    )

    @admin.display(description=_("status"), ordering="status")
    def condition(self, obj):
        if obj.reassessment_since and obj.status == ProcessingSystem.Status.ACTIVE:
            return _("needs reassessment (enrols no one new)")
        return obj.get_status_display()

    def save_model(self, request, obj, form, change):
        pass  # saved with its purposes in save_related, through the service

    def save_related(self, request, form, formsets, change):
        purposes = list(form.cleaned_data["purposes"])
        system_save(actor=actor_for(request.user), system=form.instance, purposes=purposes)
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def has_delete_permission(self, request, obj=None):
        return False  # systems are retired, never deleted: their evidence stays

    def _run(self, request, queryset, service, done):
        actor = actor_for(request.user)
        run_service_action(self, request, queryset, lambda system: service(actor=actor, system=system), done)

    @admin.action(description=_("Activate"), permissions=["change"])
    def activate(self, request, queryset):
        self._run(request, queryset, system_activate, _("%(count)d activated."))

    @admin.action(description=_("Suspend"), permissions=["change"])
    def suspend(self, request, queryset):
        self._run(request, queryset, system_suspend, _("%(count)d suspended."))

    @admin.action(description=_("Retire"), permissions=["change"])
    def retire(self, request, queryset):
        self._run(request, queryset, system_retire, _("%(count)d retired."))

    def _flag(self, request, queryset, service, paused, done):
        actor = actor_for(request.user)
        run_service_action(
            self, request, queryset, lambda system: service(actor=actor, system=system, paused=paused), done
        )

    @admin.action(description=_("Pause enrolments (deletions keep flowing)"), permissions=["change"])
    def pause_enrolments(self, request, queryset):
        self._flag(request, queryset, system_enrolments_pause, True, _("%(count)d no longer enrol anyone."))

    @admin.action(description=_("Resume enrolments"), permissions=["change"])
    def resume_enrolments(self, request, queryset):
        self._flag(request, queryset, system_enrolments_pause, False, _("%(count)d enrol again."))

    @admin.action(description=_("Pause deliveries (deletions wait until resumed)"), permissions=["change"])
    def pause_deliveries(self, request, queryset):
        self._flag(request, queryset, system_deliveries_pause, True, _("%(count)d receive no deletions for now."))

    @admin.action(description=_("Resume deliveries"), permissions=["change"])
    def resume_deliveries(self, request, queryset):
        self._flag(request, queryset, system_deliveries_pause, False, _("%(count)d receive deletions again."))

    def _issue(self, request, queryset, kind, overlap):
        actor = actor_for(request.user)
        for system in queryset:
            value = credential_issue(actor=actor, system=system, kind=kind, overlap=overlap)
            self.message_user(
                request,
                _("%(system)s: %(value)s (shown once: copy it into the system's configuration now)")
                % {"system": system, "value": value},
                messages.WARNING,
            )

    @admin.action(description=_("Issue a device token (the old ones stay valid for 7 days)"), permissions=["change"])
    def issue_device_token(self, request, queryset):
        self._issue(request, queryset, SystemCredential.Kind.DEVICE_TOKEN, dt.timedelta(days=7))

    @admin.action(description=_("Rotate the webhook secret (both are used for 24 hours)"), permissions=["change"])
    def rotate_webhook_secret(self, request, queryset):
        self._issue(request, queryset, SystemCredential.Kind.WEBHOOK_SECRET, dt.timedelta(hours=24))


@admin.register(ImpactAssessment)
class ImpactAssessmentAdmin(AuditedModelAdmin):
    list_display = ("title", "entity", "state", "approved_at", "next_review_on", "superseded_at")
    list_filter = ("state", "entity")
    readonly_fields = ("state", "approved_at", "approved_by", "reassessment_reason", "superseded_at")
    filter_horizontal = ("systems",)
    actions = ["submit", "approve"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.state == ImpactAssessment.State.APPROVED:
            return False  # an approved assessment is evidence; a change needs a new review
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and not impact_assessment_deletable(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        impact_assessment_delete(actor=actor_for(request.user), assessment=obj)

    def has_approve_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")

    @admin.action(description=_("Send to review"), permissions=["change"])
    def submit(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda a: impact_assessment_submit(actor=actor, assessment=a),
            _("%(count)d sent to review."),
        )

    @admin.action(description=_("Approve"), permissions=["approve"])
    def approve(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda a: impact_assessment_approve(actor=actor, assessment=a),
            _("%(count)d approved."),
        )


@admin.register(Holding)
class HoldingAdmin(ExactSearchMixin, ReadOnlyAdmin):
    exact_search_fields = ("subject_key",)
    paginator = EstimatedCountPaginator
    list_display = ("system", "subject", "data_kind", "enrolled_at", "retention_until", "status")
    list_filter = ("status", "data_kind", "system")
    list_select_related = ("system", "subject")
    search_fields = ("=subject_key",)
    show_full_result_count = False
