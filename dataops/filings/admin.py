"""Filings in the admin: obligations, filings and their attachments, change reviews, regulator accounts."""

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from facerights.admin import (
    AuditedModelAdmin,
    ReadOnlyAdmin,
    actor_column,
    run_service_action,
    typed_confirmation,
)
from facerights.audit import actor_for
from facerights.uploads import read_upload

from ..registry.admin import LegalEntityAdmin as RegistryLegalEntityAdmin
from ..registry.identity import id_number_check
from ..registry.models import LegalEntity
from .changes import change_review_decide, recognition_end
from .models import ChangeReview, Filing, FilingAttachment, FilingObligation, RegulatorAccount
from .pack import filing_bundle, filing_pack
from .services import (
    filing_agent_set,
    filing_attach,
    filing_disposal_set,
    filing_generate,
    filing_review,
    filing_submit,
    obligation_fulfil,
    obligation_start,
)
from .wording import change_rows

admin.site.unregister(LegalEntity)


@admin.register(LegalEntity)
class LegalEntityAdmin(RegistryLegalEntityAdmin):
    """The registry's entity admin, with the daily count and the end of face recognition (cancellation)."""

    list_display = (*RegistryLegalEntityAdmin.list_display, "stored_persons_today")
    actions = ["end_recognition"]

    @admin.display(description=_("people stored (latest count)"))
    def stored_persons_today(self, obj):
        latest = obj.person_counts.order_by("-date").first()
        return f"{latest.persons} ({latest.date:%Y-%m-%d})" if latest else "—"

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")

    @admin.action(
        description=_("End face recognition: delete everywhere and open the cancellation filing"),
        permissions=["decide"],
    )
    def end_recognition(self, request, queryset):
        actor = actor_for(request.user)
        return typed_confirmation(
            self,
            request,
            queryset,
            title=_("End face recognition"),
            consequence=_(
                "Every processing system of this legal entity is retired at once: no one is recognised any more. "
                "A deletion opens for every person they hold, in the background (the cancellation filing shows "
                "each system's confirmations), and the cancellation filing opens as a draft, due within 30 working "
                "days (Measures Art 15). This cannot be undone."
            ),
            perform=lambda entity: recognition_end(actor=actor, entity=entity),
            done_message=_(
                "%(name)s: face recognition ended; deletions are being opened in the background and the "
                "cancellation filing is a draft."
            ),
        )


@admin.register(RegulatorAccount)
class RegulatorAccountAdmin(AuditedModelAdmin):
    list_display = ("user", "authority_name", "province")


class FilingActionForm(ActionForm):
    receipt_number = forms.CharField(
        label=_("CAC receipt number (to record a submission)"), required=False, max_length=64
    )


class FilingForm(forms.ModelForm):
    agent_id_number = forms.CharField(
        label=_("their document number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=_("Kept encrypted and shown masked. Leave empty to keep the number on file."),
    )

    class Meta:
        model = Filing
        fields = ("agent_name", "agent_phone", "agent_email", "agent_id_type", "disposal_description")

    def clean_agent_id_number(self) -> str:
        number = self.cleaned_data["agent_id_number"].strip()
        return id_number_check(self.cleaned_data.get("agent_id_type", ""), number) if number else ""


class FilingAttachmentForm(forms.ModelForm):
    upload = forms.FileField(label=_("scan (PDF, PNG or JPEG, at most 5 MB)"))

    class Meta:
        model = FilingAttachment
        fields = ("kind",)

    def clean_upload(self):
        content, content_type = read_upload(self.cleaned_data["upload"])
        self.cleaned_data["content_type"] = content_type
        return content


class FilingAttachmentInline(admin.TabularInline):
    model = FilingAttachment
    form = FilingAttachmentForm
    extra = 1
    can_delete = False
    readonly_fields = ("sha256", "size", "uploaded_at")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return obj is not None and not obj.locked and super().has_add_permission(request, obj)


@admin.register(Filing)
class FilingAdmin(admin.ModelAdmin):
    """Filings: generate the documents, review, download the pack for the CAC's system, record the submission."""

    list_display = (
        "number",
        "version",
        "kind",
        "entity",
        "state",
        "progress",
        "submitted_at",
        "acknowledged_at",
        "downloads",
    )
    list_filter = ("state", "kind", "entity")
    readonly_fields = (
        "number",
        "version",
        "kind",
        "entity",
        "obligation",
        "state",
        "progress",
        "snapshot_sha256",
        "reviewed_by",
        "submitted_at",
        "acknowledged_at",
        "acknowledged_by",
        "downloads",
        "agent_id_masked",
    )
    form = FilingForm
    fields = (
        "number",
        "version",
        "kind",
        "entity",
        "obligation",
        "state",
        "agent_name",
        "agent_phone",
        "agent_email",
        "agent_id_type",
        "agent_id_number",
        "agent_id_masked",
        "disposal_description",
        *readonly_fields[6:-1],
    )
    inlines = [FilingAttachmentInline]
    actions = ["generate", "review", "submit"]
    action_form = FilingActionForm

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.locked:
            return False
        return super().has_change_permission(request, obj)

    def save_formset(self, request, form, formset, change):
        actor = actor_for(request.user)
        # The admin's change message reads these, as formset.save() would have set them.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.has_changed() and inline_form.is_valid() and inline_form.cleaned_data.get("upload"):
                attachment = filing_attach(
                    actor=actor,
                    filing=form.instance,
                    kind=inline_form.cleaned_data["kind"],
                    content=inline_form.cleaned_data["upload"],
                    content_type=inline_form.cleaned_data["content_type"],
                )
                formset.new_objects.append(attachment)

    def save_model(self, request, obj, form, change):
        actor = actor_for(request.user)
        filing_agent_set(
            actor=actor,
            filing=obj,
            name=obj.agent_name,
            phone=obj.agent_phone,
            email=obj.agent_email,
            id_type=obj.agent_id_type,
            id_number=form.cleaned_data.get("agent_id_number") or "",
        )
        filing_disposal_set(actor=actor, filing=obj, text=obj.disposal_description)

    @admin.display(description=_("documents"))
    def downloads(self, obj):
        if not obj.documents.exists():
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:dataops_filing_pack", args=[obj.pk]),
            _("pack for the CAC system (ZIP)"),
            reverse("admin:dataops_filing_evidence", args=[obj.pk]),
            _("filing bundle (JSON)"),
        )

    def get_urls(self):
        return [
            path("<int:pk>/pack/", self.admin_site.admin_view(self.pack_view), name="dataops_filing_pack"),
            path("<int:pk>/evidence/", self.admin_site.admin_view(self.evidence_view), name="dataops_filing_evidence"),
            *super().get_urls(),
        ]

    def pack_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        filing = get_object_or_404(Filing, pk=pk)
        response = HttpResponse(filing_pack(filing), content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{filing.number}-v{filing.version}.zip"'
        return response

    def evidence_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return JsonResponse(filing_bundle(get_object_or_404(Filing, pk=pk)), json_dumps_params={"ensure_ascii": False})

    def _run(self, request, queryset, service, done):
        actor = actor_for(request.user)
        run_service_action(self, request, queryset, lambda f: service(actor=actor, filing=f), done)

    @admin.action(description=_("Generate the documents (from a fresh snapshot)"), permissions=["change"])
    def generate(self, request, queryset):
        self._run(request, queryset, filing_generate, _("%(count)d being generated."))

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")  # the DPO's decisions

    @admin.action(description=_("Mark as reviewed"), permissions=["decide"])
    def review(self, request, queryset):
        self._run(request, queryset, filing_review, _("%(count)d reviewed."))

    @admin.action(
        description=_("Record as submitted to the CAC system (it never changes after)"), permissions=["decide"]
    )
    def submit(self, request, queryset):
        actor = actor_for(request.user)
        receipt = request.POST.get("receipt_number", "")
        run_service_action(
            self,
            request,
            queryset,
            lambda f: filing_submit(actor=actor, filing=f, receipt_number=receipt),
            _("%(count)d submitted."),
        )


class ObligationActionForm(ActionForm):
    reference = forms.CharField(label=_("reference (to record as done)"), required=False, max_length=200)


@admin.register(FilingObligation)
class FilingObligationAdmin(ReadOnlyAdmin):
    """Every duty to file or report, with its due date; filings start here, reports and audits are recorded here."""

    list_display = (
        "entity",
        "kind",
        "triggered_on",
        "due_on",
        "due_on_provisional",
        "fulfilled_at",
        "fulfilled_reference",
    )
    list_filter = ("kind", "entity")
    action_form = ObligationActionForm
    actions = ["start_filing", "record_done"]

    def has_start_permission(self, request):
        return request.user.has_perm("dataops.add_filing")

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")

    @admin.action(description=_("Start the filing"), permissions=["start"])
    def start_filing(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda o: obligation_start(actor=actor, obligation=o),
            _("%(count)d draft filings: open Filings."),
        )

    @admin.action(description=_("Record as done, with the reference above"), permissions=["decide"])
    def record_done(self, request, queryset):
        actor = actor_for(request.user)
        reference = request.POST.get("reference", "")
        run_service_action(
            self,
            request,
            queryset,
            lambda o: obligation_fulfil(actor=actor, obligation=o, reference=reference),
            _("%(count)d recorded."),
        )


@admin.register(ChangeReview)
class ChangeReviewAdmin(ReadOnlyAdmin):
    list_display = ("entity", "detected_on", "due_on", "substantive", "decided_by_name")
    readonly_fields = (
        "entity",
        "detected_on",
        "due_on",
        "changes_table",
        "substantive",
        "decided_by_name",
        "decided_at",
    )
    exclude = ("changes", "changes_sha256", "obligation", "decided_by")
    decided_by_name = actor_column("decided_by", _("decided by"))
    actions = ["substantive_yes", "substantive_no"]

    @admin.display(description=_("what changed"))
    def changes_table(self, obj):
        return format_html_join(
            "", "<div>{}: {} → {}</div>", ((c["what"], c["before"], c["after"]) for c in change_rows(obj.changes))
        )

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")

    @admin.action(description=_("Substantive: open a change filing"), permissions=["decide"])
    def substantive_yes(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda r: change_review_decide(actor=actor, review=r, substantive=True),
            _("%(count)d decided."),
        )

    @admin.action(description=_("Not substantive"), permissions=["decide"])
    def substantive_no(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda r: change_review_decide(actor=actor, review=r, substantive=False),
            _("%(count)d decided."),
        )
