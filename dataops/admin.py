import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from facerights.admin import (
    AuditedModelAdmin,
    EstimatedCountPaginator,
    ExactSearchMixin,
    ReadOnlyAdmin,
    run_service_action,
)
from facerights.audit import actor_for
from facerights.uploads import read_upload
from facerights.workdays import CalendarYearUnknown, working_days_between

from .bulk import bulk_or_inline
from .credentials import credential_issue
from .evidence import evidence_export_content, evidence_export_request
from .filings import (
    change_review_decide,
    evidence_bundle,
    filing_attach,
    filing_generate,
    filing_pack,
    filing_review,
    filing_submit,
    obligation_fulfil,
    obligation_start,
    recognition_end,
)
from .health import connection_test_start
from .models import (
    BulkJob,
    ChangeReview,
    DeletionRequest,
    DeliveryAttempt,
    EntityGroup,
    EvidenceExport,
    Filing,
    FilingAttachment,
    FilingObligation,
    Holding,
    ImpactAssessment,
    LegalEntity,
    ProcessingSystem,
    Propagation,
    RegulatorAccount,
    Request,
    ResponseTimePolicy,
    Site,
    SystemCredential,
)
from .services import (
    impact_assessment_approve,
    impact_assessment_deletable,
    impact_assessment_delete,
    impact_assessment_submit,
    request_complete,
    request_details,
    request_extend,
    request_refuse,
    system_activate,
    system_retire,
    system_save,
    system_suspend,
)


@admin.register(EntityGroup)
class EntityGroupAdmin(AuditedModelAdmin):
    list_display = ("name_zh", "name_en")


@admin.register(LegalEntity)
class LegalEntityAdmin(AuditedModelAdmin):
    list_display = ("name_zh", "credit_code", "province", "dpo_name", "stored_persons_today", "recognition_ended_on")
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
        for entity in queryset:
            recognition_end(actor=actor, entity=entity)
        self.message_user(
            request, _("Deletions opened for every holder; the cancellation filing is a draft."), messages.WARNING
        )

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
    readonly_fields = ("status",)
    filter_horizontal = ("purposes",)
    actions = ["connection_test", "activate", "suspend", "retire", "issue_device_token", "rotate_webhook_secret"]
    list_display = ("name_zh", "entity", "site", "kind", "integration", "storage_location", "status", "last_test")

    @admin.display(description=_("connection test"))
    def last_test(self, obj):
        test = obj.connection_tests.order_by("-started_at").first()
        if test is None:
            return "—"
        return _("passed") if test.passed_at else _("waiting for the system")

    @admin.action(
        description=_("Run a connection test (activates a draft system when it passes)"), permissions=["change"]
    )
    def connection_test(self, request, queryset):
        actor = actor_for(request.user)
        for system in queryset:
            connection_test_start(
                actor=actor, system=system, activate_on_pass=system.status == ProcessingSystem.Status.DRAFT
            )
        self.message_user(
            request, _("Synthetic deletions sent: each test passes when its system confirms."), messages.SUCCESS
        )

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
    list_display = ("title", "entity", "state", "approved_at", "next_review_on")
    list_filter = ("state", "entity")
    readonly_fields = ("state", "approved_at", "approved_by", "reassessment_reason")
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


class RequestActionForm(admin.helpers.ActionForm):
    reason_code = forms.ChoiceField(
        label=_("refusal reason"),
        required=False,
        choices=[("", "---")] + list(Request._meta.get_field("refusal_reason_code").choices),
    )
    text = forms.CharField(label=_("explanation the person sees"), required=False)
    until = forms.DateField(label=_("extend to (YYYY-MM-DD)"), required=False)


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(state__in=Request.OPEN_STATES, due_on__lt=timezone.localdate())
        return queryset


@admin.register(Request)
class RequestAdmin(ExactSearchMixin, ReadOnlyAdmin):
    exact_search_fields = ("reference",)
    uppercase_search = True
    """The request queue: open and overdue first, with the working days left on each."""

    list_display = ("reference", "type", "subject_masked", "state", "due_on", "working_days_left", "acknowledged_at")
    list_filter = (OverdueFilter, "state", "type", "system", "system__entity")
    list_select_related = ("subject",)
    search_fields = ("=reference",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        open_first = Case(
            When(state__in=Request.OPEN_STATES, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return super().get_queryset(request).annotate(open_rank=open_first).order_by("open_rank", "due_on", "pk")

    @admin.display(description=_("person"))
    def subject_masked(self, obj):
        return str(obj.subject.uuid)[:8] + "…"

    @admin.display(description=_("working days left"))
    def working_days_left(self, obj):
        if obj.state not in Request.OPEN_STATES:
            return "—"
        try:
            left = working_days_between(timezone.localdate(), obj.due_on)
        except CalendarYearUnknown:
            return _("unknown (holidays not entered)")
        if left < 0:
            return format_html('<strong class="overdue">{}</strong>', _("overdue by %(n)d") % {"n": -left})
        return left

    readonly_fields = ("details",)
    exclude = ("details_ciphertext",)
    action_form = RequestActionForm
    actions = ["refuse", "extend", "complete"]

    @admin.display(description=_("what the person wrote"))
    def details(self, obj):
        return request_details(obj)

    def has_refuse_permission(self, request):
        return request.user.has_perm("dataops.refuse_request")

    def has_handle_permission(self, request):
        return request.user.has_perm("dataops.change_request")

    @admin.action(description=_("Refuse, with the reason and explanation above"), permissions=["refuse"])
    def refuse(self, request, queryset):
        actor = actor_for(request.user)
        code, text = request.POST.get("reason_code", ""), request.POST.get("text", "")
        run_service_action(
            self,
            request,
            queryset,
            lambda r: request_refuse(actor=actor, request=r, reason_code=code, text=text),
            _("%(count)d refused."),
        )

    @admin.action(description=_("Extend to the date above, with the explanation above"), permissions=["handle"])
    def extend(self, request, queryset):
        actor = actor_for(request.user)
        try:
            until = dt.date.fromisoformat(request.POST.get("until", ""))
        except ValueError:
            self.message_user(request, _("Give the new date as YYYY-MM-DD."), messages.ERROR)
            return
        text = request.POST.get("text", "")
        run_service_action(
            self,
            request,
            queryset,
            lambda r: request_extend(actor=actor, request=r, until=until, reason=text),
            _("%(count)d extended."),
        )

    @admin.action(description=_("Mark as completed"), permissions=["handle"])
    def complete(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self, request, queryset, lambda r: request_complete(actor=actor, request=r), _("%(count)d completed.")
        )


@admin.register(ResponseTimePolicy)
class ResponseTimePolicyAdmin(AuditedModelAdmin):
    list_display = ("request_type", "working_days")


@admin.register(RegulatorAccount)
class RegulatorAccountAdmin(AuditedModelAdmin):
    list_display = ("user", "authority_name", "province")


class PropagationInline(admin.TabularInline):
    model = Propagation
    extra = 0
    can_delete = False
    fields = ("system", "state", "attempts", "deadline", "confirmed_at", "evidence_sha256", "last_error")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DeletionRequest)
class DeletionRequestAdmin(ExactSearchMixin, ReadOnlyAdmin):
    exact_search_fields = ("reference",)
    uppercase_search = True
    paginator = EstimatedCountPaginator
    list_display = ("reference", "trigger", "state", "due_on", "created_at", "completed_at")
    list_filter = ("state", "trigger")
    search_fields = ("=reference",)
    show_full_result_count = False
    inlines = [PropagationInline]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "finished_at", "outcome", "http_status", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Propagation)
class PropagationAdmin(ExactSearchMixin, ReadOnlyAdmin):
    exact_search_fields = ("deletion_request__reference", "idempotency_key")
    paginator = EstimatedCountPaginator
    list_display = ("deletion_request", "system", "state", "attempts", "next_attempt_at", "deadline", "escalated_at")
    list_filter = ("state", "system")
    list_select_related = ("deletion_request", "system")
    search_fields = ("=deletion_request__reference", "=idempotency_key")
    show_full_result_count = False
    ordering = ("-escalated_at", "deadline")
    exclude = ("manual_nonce", "claimed_until")
    inlines = [DeliveryAttemptInline]
    actions = ["retry_now", "escalate"]

    def has_retry_permission(self, request):
        return request.user.has_perm("dataops.change_propagation")

    @admin.action(description=_("Retry now"), permissions=["retry"])
    def retry_now(self, request, queryset):
        return bulk_or_inline(self, request, queryset, "propagation.retry_now")

    @admin.action(description=_("Escalate (tell the DPO and the person)"), permissions=["retry"])
    def escalate(self, request, queryset):
        return bulk_or_inline(self, request, queryset, "propagation.escalate")


@admin.register(EvidenceExport)
class EvidenceExportAdmin(admin.ModelAdmin):
    """CSV exports of the evidence; anyone who may view the evidence may ask for one and download their own."""

    list_display = ("kind", "date_from", "date_to", "state", "rows", "created_at", "download")
    fields = ("kind", "date_from", "date_to")

    def has_add_permission(self, request):
        return request.user.has_perm("dataops.view_evidenceexport")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).filter(requested_by=request.user)

    def save_model(self, request, obj, form, change):
        created = evidence_export_request(
            actor=actor_for(request.user),
            user=request.user,
            kind=obj.kind,
            date_from=obj.date_from,
            date_to=obj.date_to,
        )
        obj.pk = created.pk

    @admin.display(description=_("download"))
    def download(self, obj):
        if obj.state != EvidenceExport.State.READY:
            return "—"
        return format_html('<a href="{}">CSV</a>', reverse("admin:dataops_evidenceexport_download", args=[obj.pk]))

    def get_urls(self):
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="dataops_evidenceexport_download",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, pk: int):
        export = get_object_or_404(EvidenceExport, pk=pk, requested_by=request.user, state=EvidenceExport.State.READY)
        response = HttpResponse(evidence_export_content(export), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="facerights-{export.kind}-{export.date_from}-{export.date_to}.csv"'
        )
        return response


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyAdmin):
    list_display = ("operation", "state", "done", "failed", "total", "created_at")
    readonly_fields = ("operation", "state", "progress", "done", "failed", "total", "actor", "created_at")
    exclude = ("object_ids", "params")

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, obj):
        return format_html(
            '<progress max="100" value="{}" data-poll="{}">{}%</progress> {}%',
            obj.percent,
            "1" if obj.state != BulkJob.State.DONE else "",
            obj.percent,
            obj.percent,
        )

    class Media:
        js = ("js/bulk_progress.js",)


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
    )
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
        *readonly_fields[6:],
    )
    inlines = [FilingAttachmentInline]
    actions = ["generate", "review", "submit"]

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
        Filing.objects.filter(pk=obj.pk, state=Filing.State.DRAFT).update(
            agent_name=obj.agent_name, agent_phone=obj.agent_phone, agent_email=obj.agent_email
        )

    @admin.display(description=_("documents"))
    def downloads(self, obj):
        if not obj.documents.exists():
            return "—"
        return format_html(
            '<a href="{}">{}</a> · <a href="{}">{}</a>',
            reverse("admin:dataops_filing_pack", args=[obj.pk]),
            _("pack for the CAC system (ZIP)"),
            reverse("admin:dataops_filing_evidence", args=[obj.pk]),
            _("evidence bundle (JSON)"),
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
        return JsonResponse(
            evidence_bundle(get_object_or_404(Filing, pk=pk)), json_dumps_params={"ensure_ascii": False}
        )

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
        self._run(request, queryset, filing_submit, _("%(count)d submitted."))


class ObligationActionForm(admin.helpers.ActionForm):
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
    list_display = ("entity", "detected_on", "due_on", "substantive", "decided_by")
    readonly_fields = ("entity", "detected_on", "due_on", "changes_table", "substantive", "decided_by", "decided_at")
    exclude = ("changes", "changes_sha256", "obligation")
    actions = ["substantive_yes", "substantive_no"]

    @admin.display(description=_("what changed"))
    def changes_table(self, obj):
        return format_html_join(
            "", "<div><code>{}</code>: {} → {}</div>", ((c["field"], c["before"], c["after"]) for c in obj.changes)
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
