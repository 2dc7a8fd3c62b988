"""The registry in the admin: entities, sites, systems, assessments, holdings."""

import datetime as dt
from typing import Any, cast
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from consent.models import Purpose
from facerights.admin import (
    AuditedModelAdmin,
    EstimatedCountPaginator,
    ExactSearchMixin,
    PersonalRecordsAdmin,
    ReadOnlyAdmin,
    run_service_action,
)
from facerights.audit import actor_for
from facerights.present import actor_text
from facerights.services import record_save
from facerights.uploads import read_upload

from .credentials import credential_issue, credential_needed, credentials_revoke
from .holdings import CHECK_REASONS
from .identity import id_number_check
from .models import (
    Alternative,
    DeviceGroup,
    EntityGroup,
    Holding,
    ImpactAssessment,
    LegalEntity,
    ProcessingDay,
    ProcessingRefusal,
    ProcessingSystem,
    SignageEvidence,
    Site,
    SystemCredential,
    SystemTransfer,
)
from .services import (
    impact_assessment_approve,
    impact_assessment_deletable,
    impact_assessment_delete,
    impact_assessment_submit,
    legal_rep_id_record,
    signage_evidence_add,
    system_activate,
    system_activation_checklist,
    system_deliveries_pause,
    system_enrolments_pause,
    system_retire,
    system_save,
    system_suspend,
)
from .transfers import system_transfer
from .validators import webhook_internal_address


class SystemTransferForm(forms.Form):
    to_entity = forms.ModelChoiceField(label=_("recipient"), queryset=LegalEntity.objects.none())
    kind = forms.ChoiceField(label=_("kind of transfer"), choices=SystemTransfer.Kind.choices)
    effective_on = forms.DateField(label=_("effective on"), widget=forms.DateInput(attrs={"type": "date"}))
    recipient_contact = forms.CharField(
        label=_("recipient's contact for people"),
        max_length=200,
        help_text=_("The name and phone or email people are told to use from now on (PIPL Art 22)."),
    )
    site = forms.ModelChoiceField(
        label=_("the recipient's site where it stands (if it stands at a site)"),
        queryset=Site.objects.all(),
        required=False,
    )

    def __init__(self, *args, system, **kwargs):
        super().__init__(*args, **kwargs)
        cast_field = self.fields["to_entity"]
        assert isinstance(cast_field, forms.ModelChoiceField)
        cast_field.queryset = LegalEntity.objects.exclude(pk=system.entity_id).order_by("name_zh")
        self.fields["effective_on"].initial = timezone.localdate()


@admin.register(EntityGroup)
class EntityGroupAdmin(AuditedModelAdmin):
    list_display = ("name_zh", "name_en")


class LegalEntityForm(forms.ModelForm):
    legal_rep_id_number = forms.CharField(
        label=_("legal representative's document number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Kept encrypted and shown masked. Leave empty to keep the number on file."),
    )

    class Meta:
        model = LegalEntity
        fields = "__all__"  # noqa: DJ007 (the admin's fieldsets decide; this form only adds the number)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.legal_rep_id_masked:
            self.fields["legal_rep_id_number"].help_text = _(
                "On file: %(masked)s. Type a new number to replace it."
            ) % {"masked": self.instance.legal_rep_id_masked}

    def clean_legal_rep_id_number(self) -> str:
        number = self.cleaned_data["legal_rep_id_number"].strip()
        return id_number_check(self.cleaned_data.get("legal_rep_id_type", ""), number) if number else ""


@admin.register(LegalEntity)
class LegalEntityAdmin(AuditedModelAdmin):
    """Legal entities. filings/admin.py extends this admin with the daily count and "End face recognition"."""

    form = LegalEntityForm
    list_display: tuple[str, ...] = ("name_zh", "credit_code", "province", "dpo_name", "recognition_ended_on")
    list_filter = ("province",)
    search_fields = ("name_zh", "name_en", "=credit_code")
    readonly_fields = ("legal_rep_id_masked",)

    def save_model(self, request, obj, form, change):
        actor = actor_for(request.user)
        record_save(actor=actor, instance=obj)
        number = form.cleaned_data.get("legal_rep_id_number")
        if number:
            legal_rep_id_record(actor=actor, entity=obj, id_type=obj.legal_rep_id_type, number=number)


class SignageEvidenceForm(forms.ModelForm):
    upload = forms.FileField(label=_("photo or document (PDF, PNG or JPEG, at most 5 MB)"))

    class Meta:
        model = SignageEvidence
        fields = ("taken_on", "collection_area")
        widgets = {"taken_on": forms.DateInput(attrs={"type": "date"})}

    def clean_upload(self):
        content, content_type = read_upload(self.cleaned_data["upload"])
        self.cleaned_data["content_type"] = content_type
        return content


class SignageEvidenceInline(admin.TabularInline):
    model = SignageEvidence
    form = SignageEvidenceForm
    extra = 1
    can_delete = False
    readonly_fields = ("sha256", "size", "uploaded_at")

    def has_change_permission(self, request, obj=None):
        return False  # evidence is added, never edited: a new photo is a new row


@admin.register(Site)
class SiteAdmin(AuditedModelAdmin):
    list_display = ("name_zh", "entity", "is_public_place", "signage_present")
    list_filter = ("entity", "is_public_place")
    inlines = [SignageEvidenceInline]

    def save_formset(self, request, form, formset, change):
        actor = actor_for(request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.has_changed() and inline_form.is_valid() and inline_form.cleaned_data.get("upload"):
                formset.new_objects.append(
                    signage_evidence_add(
                        actor=actor,
                        site=form.instance,
                        taken_on=inline_form.cleaned_data["taken_on"],
                        collection_area=inline_form.cleaned_data["collection_area"],
                        content=inline_form.cleaned_data["upload"],
                        content_type=inline_form.cleaned_data["content_type"],
                    )
                )


class DeviceGroupInline(admin.StackedInline):  # stacked: each field has its label (a tabular row's have none)
    """Devices are added and edited here; removed from their own list (Devices), with an audit event each."""

    model = DeviceGroup
    extra = 1
    can_delete = False


@admin.register(DeviceGroup)
class DeviceGroupAdmin(AuditedModelAdmin):
    list_display = ("system", "kind", "count", "location")
    list_filter = ("kind", "system__entity")
    search_fields = ("system__name_zh", "location")


class PurposeChoiceField(forms.ModelMultipleChoiceField):
    """Purposes as checkboxes named in the admin's language."""

    def label_from_instance(self, obj):
        return obj.name_zh if (get_language() or "").startswith("zh") else (obj.name_en or obj.name_zh)


class ProcessingSystemForm(forms.ModelForm):
    """The non-face alternatives as labelled checkboxes, not a JSON list typed by hand."""

    alternatives = forms.MultipleChoiceField(
        label=_("non-face alternatives"),
        choices=Alternative.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("An active system that verifies identity keeps at least one (Measures Art 10)."),
    )

    purposes = PurposeChoiceField(
        label=_("purposes"),
        queryset=Purpose.objects.order_by("code"),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("What the system uses faces for; each is a separate consent the person gives or refuses."),
    )

    class Meta:
        model = ProcessingSystem
        fields = "__all__"  # noqa: DJ007 (the admin's fields decide; a narrower list here would hide them all)

    def clean(self):
        data = cast("dict[str, Any]", super().clean())  # ModelForm.clean returns cleaned_data
        url = data.get("webhook_url")
        if url and not data.get("is_internal") and (address := webhook_internal_address(url)):
            # Flagged now, not when the first deletion is refused: deliveries never go to such an address.
            self.add_error(
                "webhook_url",
                ValidationError(
                    _(
                        "%(host)s is a loopback, private or link-local address (%(address)s): FaceRights never "
                        "delivers there. Give the system's public address, or tick “internal network” if it "
                        "really runs on your own network."
                    ),
                    code="internal_address",
                    params={"host": urlsplit(url).hostname, "address": address},
                ),
            )
        return data


@admin.register(ProcessingSystem)
class ProcessingSystemAdmin(admin.ModelAdmin):
    form = ProcessingSystemForm
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
    """Processing systems. deletions/admin.py extends this admin with the connection test."""

    inlines = [DeviceGroupInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not DeviceGroup:
            return super().save_formset(request, form, formset, change)
        actor = actor_for(request.user)  # each device row with its audit event
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.has_changed() and inline_form.is_valid():
                device = inline_form.instance
                device.system = form.instance
                adding = device._state.adding
                record_save(actor=actor, instance=device)
                if adding:
                    formset.new_objects.append(device)
                else:
                    formset.changed_objects.append((device, inline_form.changed_data))

    actions = [
        "transfer",
        "activate",
        "suspend",
        "retire",
        "pause_enrolments",
        "resume_enrolments",
        "pause_deliveries",
        "resume_deliveries",
        "issue_device_token",
        "rotate_webhook_secret",
        "revoke_credentials",
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

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")

    @admin.action(description=_("Transfer to another legal entity (merger, sale, group)"), permissions=["decide"])
    def transfer(self, request, queryset):
        """PIPL Art 22: record who now holds the system; its people are told in the background."""
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one row for this action."), messages.ERROR)
            return None
        system = queryset.get()
        form = SystemTransferForm(request.POST if "apply" in request.POST else None, system=system)
        if form.is_bound and form.is_valid():
            try:
                system_transfer(actor=actor_for(request.user), system=system, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                self.message_user(
                    request,
                    _(
                        "%(system)s now belongs to %(entity)s. Its people are being told; its enrolments are "
                        "paused until you publish a notice naming the recipient."
                    )
                    % {"system": system, "entity": form.cleaned_data["to_entity"]},
                    messages.WARNING,
                )
                return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Transfer %(system)s to another legal entity") % {"system": system},
            "form": form,
            "system": system,
            "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/dataops/processingsystem/transfer.html", context)

    def _issue(self, request, queryset, kind, overlap):
        """Issue the credentials and show them once, on a page the DPO can hand to the vendor (never stored
        readable, never in a message kept in the session)."""
        actor = actor_for(request.user)
        issued = [
            {"system": system, "value": credential_issue(actor=actor, system=system, kind=kind, overlap=overlap)}
            for system in queryset
        ]
        context = {
            **self.admin_site.each_context(request),
            "title": _("New credentials: shown once"),
            "opts": self.model._meta,
            "issued": issued,
            "kind": kind,
            "overlap_hours": int(overlap.total_seconds() // 3600),
            "base_url": settings.FACERIGHTS_BASE_URL,
        }
        response = TemplateResponse(request, "admin/dataops/processingsystem/credentials.html", context)
        add_never_cache_headers(response)
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        system = self.get_object(request, object_id)
        checklist = system_activation_checklist(system) if system is not None else []
        links = {
            "assessment": reverse("admin:dataops_impactassessment_add"),
            "reassessment": reverse("admin:dataops_impactassessment_add"),
            "notice": reverse("admin:consent_notice_add") + (f"?system={system.pk}" if system else ""),
        }
        extra_context = {
            **(extra_context or {}),
            "activation_checklist": [(gate, links.get(gate.key, "")) for gate in checklist],
            "credential_needed": credential_needed(system) if system is not None else None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Issue a device token (the old ones stay valid for 7 days)"), permissions=["change"])
    def issue_device_token(self, request, queryset):
        return self._issue(request, queryset, SystemCredential.Kind.DEVICE_TOKEN, dt.timedelta(days=7))

    @admin.action(description=_("Rotate the webhook secret (both are used for 24 hours)"), permissions=["change"])
    def rotate_webhook_secret(self, request, queryset):
        return self._issue(request, queryset, SystemCredential.Kind.WEBHOOK_SECRET, dt.timedelta(hours=24))

    @admin.action(
        description=_("Revoke every token and secret now (a leaked one; issue new ones after)"), permissions=["decide"]
    )
    def revoke_credentials(self, request, queryset):
        actor = actor_for(request.user)
        for system in queryset:
            count = credentials_revoke(actor=actor, system=system)
            self.message_user(
                request,
                _("%(system)s: %(count)d credentials revoked; the system can no longer call FaceRights.")
                % {"system": system, "count": count},
                messages.WARNING,
            )


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
class HoldingAdmin(ExactSearchMixin, PersonalRecordsAdmin, ReadOnlyAdmin):
    exact_search_fields = ("subject_key",)
    paginator = EstimatedCountPaginator
    list_display = ("system", "subject", "data_kind", "enrolled_at", "retention_until", "status")
    list_filter = ("status", "data_kind", "system")
    list_select_related = ("system", "subject")
    search_fields = ("=subject_key",)
    show_full_result_count = False


@admin.register(ProcessingDay)
class ProcessingDayAdmin(ReadOnlyAdmin):
    """The record of processing: every consent check a system made, counted per purpose and day (kept 3 years)."""

    list_display = ("day", "system", "purpose", "allowed", "refused")
    list_filter = ("system__entity", "system")
    date_hierarchy = "day"
    list_select_related = ("system",)


@admin.register(ProcessingRefusal)
class ProcessingRefusalAdmin(ExactSearchMixin, PersonalRecordsAdmin, ReadOnlyAdmin):
    """Every consent check answered no, with its reason (kept 3 years)."""

    exact_search_fields = ("subject_key",)
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_display = ("at", "system", "purpose", "reason_text", "subject_key")
    list_filter = ("reason", "system")
    list_select_related = ("system",)

    @admin.display(description=_("reason"), ordering="reason")
    def reason_text(self, obj):
        return CHECK_REASONS.get(obj.reason, obj.reason)


@admin.register(SystemTransfer)
class SystemTransferAdmin(ReadOnlyAdmin):
    """Systems that changed hands (PIPL Art 22), and whether their people were told."""

    list_display = (
        "recorded_at",
        "system",
        "from_entity",
        "to_entity",
        "kind",
        "effective_on",
        "recorded_by",
        "people_told",
        "told_at",
    )
    list_filter = ("kind",)
    exclude = ("actor",)
    readonly_fields = ("recorded_by",)

    @admin.display(description=_("recorded by"))
    def recorded_by(self, obj):
        return actor_text(obj.actor)
