from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from facerights.admin import (
    AuditedModelAdmin,
    EstimatedCountPaginator,
    PersonalRecordsAdmin,
    ReadOnlyAdmin,
    run_service_action,
)
from facerights.audit import actor_for, audit_record
from facerights.present import actor_text

from .linking import (
    LinkError,
    deceased_claim_approve,
    deceased_claim_note,
    deceased_claim_proof,
    deceased_claim_reject,
    enrolment_code_issue,
    identity_check_approve,
    identity_check_note,
    identity_check_reject,
    identity_check_scan,
)
from .models import (
    ConsentEvent,
    ConsentRecord,
    ConsentSession,
    DataSubject,
    DeceasedRepresentation,
    Guardianship,
    IdentityCheck,
    Notice,
    Purpose,
    SubjectMatchReview,
)
from .proof import consent_proof_package
from .receipts import EXPORT_LIMIT, consent_receipts_export
from .rules import needs_guardian_consent
from .services import guardianship_record, notice_publish, subject_find, subject_match_confirm_different


@admin.register(Purpose)
class PurposeAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "name_en")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(DataSubject)
class DataSubjectAdmin(PersonalRecordsAdmin, ReadOnlyAdmin):
    paginator = EstimatedCountPaginator
    """Subjects are shown by their pseudonymous id only; identifiers stay encrypted."""

    list_display = ("__str__", "uuid", "created_at", "shredded_at")
    search_fields = ("=uuid",)
    show_full_result_count = False
    exclude = ("wrapped_key", "name_ciphertext")
    actions = ["issue_enrolment_code", "consent_proof", "consent_receipts"]

    def has_issue_permission(self, request):
        return request.user.has_perm("consent.add_enrolmentcode")

    def has_proof_permission(self, request):
        # The DPO's, for a complaint or a regulator's question (the role that decides: facerights/roles.py).
        return request.user.has_perm("dataops.approve_impactassessment")

    @admin.action(description=_("Download the consent proof package (ZIP)"), permissions=["proof"])
    def consent_proof(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose one person: a proof package is about one person."), messages.ERROR)
            return None
        subject = queryset.get()
        package = consent_proof_package(actor=actor_for(request.user), subject=subject)
        response = HttpResponse(package, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="consent-proof-{subject.uuid}.zip"'
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Export their consent receipts (ISO/IEC TS 27560 JSON)"), permissions=["proof"])
    def consent_receipts(self, request, queryset):
        if queryset.count() > EXPORT_LIMIT:
            self.message_user(
                request,
                _("Choose at most %(limit)s people for one export.") % {"limit": f"{EXPORT_LIMIT:,}"},
                messages.ERROR,
            )
            return None
        content = consent_receipts_export(actor=actor_for(request.user), subjects=queryset)
        response = HttpResponse(content, content_type="application/json; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="consent-receipts-{timezone.localtime():%Y%m%d-%H%M%S}.json"'
        )
        add_never_cache_headers(response)
        return response

    @admin.action(description=_("Issue an enrolment code (shown once)"), permissions=["issue"])
    def issue_enrolment_code(self, request, queryset):
        actor = actor_for(request.user)
        for subject in queryset[:20]:
            code = enrolment_code_issue(actor=actor, subject=subject)
            self.message_user(request, f"{subject}: {code}", messages.WARNING)


@admin.register(Notice)
class NoticeAdmin(AuditedModelAdmin):
    list_display = ("system", "version", "status", "published_at")
    list_filter = ("status",)
    readonly_fields = ("version", "status", "published_at", "digest")
    actions = ["publish"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status == Notice.Status.PUBLISHED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.status == Notice.Status.PUBLISHED:
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description=_("Publish the selected notices"), permissions=["change"])
    def publish(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda notice: notice_publish(actor=actor, notice=notice),
            _("%(count)d published."),
        )


class ConsentEventInline(admin.TabularInline):
    model = ConsentEvent
    extra = 0
    can_delete = False
    readonly_fields = ("kind", "at", "actor", "channel", "ip_prefix", "user_agent")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(PersonalRecordsAdmin, ReadOnlyAdmin):
    paginator = EstimatedCountPaginator
    list_display = ("subject", "system", "purpose", "method", "state", "given_at", "withdrawn_at")
    list_filter = ("state", "method", "channel")
    list_select_related = ("subject", "system", "purpose")
    show_full_result_count = False
    inlines = [ConsentEventInline]


@admin.register(ConsentSession)
class ConsentSessionAdmin(PersonalRecordsAdmin, ReadOnlyAdmin):
    """Consents asked at capture: what each person was shown and answered, for a complaint or a regulator."""

    paginator = EstimatedCountPaginator
    list_display = ("system", "purpose", "state", "notice", "created_at", "answered_at", "token_used_at")
    list_filter = ("state", "system")
    list_select_related = ("system", "purpose", "notice")
    search_fields = ("=subject_key",)
    show_full_result_count = False
    exclude = ("page_token_sha256",)


class GuardianshipForm(forms.Form):
    """The DPO records a guardianship after checking the proof in person or from documents."""

    guardian = forms.CharField(label=_("Guardian's phone or email"), max_length=254)
    child = forms.CharField(label=_("Child's phone, email or member number"), max_length=254)
    relationship = forms.ChoiceField(label=_("relationship"), choices=Guardianship.Relationship.choices)
    proof = forms.CharField(
        label=_("Proof checked"),
        max_length=100,
        help_text=_(
            "The document and the last four digits of its number, e.g. 户口簿 …1234. Never upload a scan here."
        ),
    )

    def clean_guardian(self):
        return self._find(self.cleaned_data["guardian"], ("phone", "email"))

    def clean_child(self):
        child = self._find(self.cleaned_data["child"], ("phone", "email", "external"))
        if child.date_of_birth is None or not needs_guardian_consent(child.date_of_birth, timezone.localdate()):
            raise forms.ValidationError(
                _("A guardian consents only for a child under 14 whose date of birth is on record."), code="age"
            )
        return child

    def clean(self):
        data = super().clean() or {}
        if data.get("guardian") is not None and data.get("guardian") == data.get("child"):
            raise forms.ValidationError(_("The guardian and the child are the same record."), code="same")
        return data

    @staticmethod
    def _find(value: str, kinds: tuple[str, ...]):
        found = next((s for kind in kinds if (s := subject_find(kind=kind, value=value.strip()))), None)
        if found is None:
            raise forms.ValidationError(_("No one is on record with this identifier."), code="unknown")
        return found


@admin.register(Guardianship)
class GuardianshipAdmin(PersonalRecordsAdmin, ReadOnlyAdmin):
    list_display = ("ward", "guardian", "relationship", "verified_at", "verified_by_text", "ended_at")
    exclude = ("verified_by",)
    readonly_fields = ("verified_by_text",)

    @admin.display(description=_("verified by"))
    def verified_by_text(self, obj):
        # The DPO by name and role; a staff member named at enrolment as the report wrote them.
        return actor_text(obj.verified_by) if ":" in obj.verified_by else obj.verified_by

    list_filter = ("relationship",)
    actions = ["verify"]
    change_list_template = "admin/consent/guardianship/change_list.html"

    def get_urls(self):
        return [
            path("record/", self.admin_site.admin_view(self.record_view), name="consent_guardianship_record"),
            *super().get_urls(),
        ]

    def record_view(self, request):
        """Record a verified guardianship once the DPO has checked the proof (a child's enrolment also creates one)."""
        if not self.has_verify_permission(request):
            raise PermissionDenied
        form = GuardianshipForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            guardianship_record(
                actor=actor_for(request.user),
                ward=data["child"],
                guardian=data["guardian"],
                relationship=data["relationship"],
                verified=True,
                proof=data["proof"],
            )
            self.message_user(request, _("The guardianship is recorded as verified."), messages.SUCCESS)
            return redirect("admin:consent_guardianship_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": _("Record a guardianship"),
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/consent/guardianship/record.html", context)

    def has_verify_permission(self, request):
        return request.user.has_perm("consent.change_guardianship")

    @admin.action(description=_("Mark as verified (proof checked)"), permissions=["verify"])
    def verify(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda g: guardianship_record(
                actor=actor, ward=g.ward, guardian=g.guardian, relationship=g.relationship, verified=True
            ),
            _("%(count)d verified."),
        )


def _private_document(request, read, content_type: str, target, action: str) -> HttpResponse:
    """A document a person sent for review, shown to the DPO once more (audited, never cached); gone once reviewed."""
    try:
        content = read()
    except LinkError:
        return HttpResponse(status=410)
    with transaction.atomic():
        audit_record(actor=actor_for(request.user), action=action, target=target)
    response = HttpResponse(content, content_type=content_type)
    response["Cache-Control"] = "no-store"
    response["Content-Disposition"] = "inline"
    return response


def _review_approve(modeladmin, request, queryset, approve) -> None:
    """Approve each reviewed document for the records the DPO names by their phone or email."""
    identifier = request.POST.get("identifier", "").strip()
    kind = "email" if "@" in identifier else "phone"
    subject = subject_find(kind=kind, value=identifier) if identifier else None
    if subject is None:
        modeladmin.message_user(request, _("No records have that phone or email."), messages.ERROR)
        return
    actor = actor_for(request.user)
    run_service_action(
        modeladmin, request, queryset, lambda obj: approve(actor, obj, subject), _("%(count)d approved.")
    )


def _review_reject(modeladmin, request, queryset, reject) -> None:
    """Reject each reviewed document with the reason the person reads."""
    actor, reason = actor_for(request.user), request.POST.get("reason", "")
    run_service_action(modeladmin, request, queryset, lambda obj: reject(actor, obj, reason), _("%(count)d rejected."))


class IdentityCheckActionForm(ActionForm):
    identifier = forms.CharField(label=_("Phone or email of the records (to approve)"), required=False)
    reason = forms.CharField(label=_("Reason told to the person (to reject)"), required=False)


@admin.register(IdentityCheck)
class IdentityCheckAdmin(PersonalRecordsAdmin, ReadOnlyAdmin):
    """The DPO's queue of identity-document checks; each scan is destroyed when the review ends."""

    list_display = ("created_at", "user", "state", "scan_link", "reviewed_at")
    list_filter = ("state",)
    readonly_fields = ("user", "state", "scan_link", "note", "subject", "decision_reason", "reviewed_by", "reviewed_at")
    exclude = ("scan_ciphertext", "note_ciphertext")
    action_form = IdentityCheckActionForm
    actions = ["approve", "reject"]

    def has_review_permission(self, request):
        return request.user.has_perm("consent.review_identitycheck")

    @admin.display(description=_("scan"))
    def scan_link(self, obj):
        if obj.scan_ciphertext is None:
            return _("destroyed")
        return format_html('<a href="{}">{}</a>', reverse("admin:consent_identitycheck_scan", args=[obj.pk]), _("view"))

    @admin.display(description=_("note"))
    def note(self, obj):
        return identity_check_note(obj)

    def get_urls(self):
        return [
            path("<int:pk>/scan/", self.admin_site.admin_view(self.scan_view), name="consent_identitycheck_scan"),
            *super().get_urls(),
        ]

    def scan_view(self, request, pk: int):
        if not self.has_review_permission(request):
            raise PermissionDenied
        check = get_object_or_404(IdentityCheck, pk=pk)
        return _private_document(
            request, lambda: identity_check_scan(check), check.scan_content_type, check, "identity_check.scan_viewed"
        )

    @admin.action(
        description=_("Approve: link the account to the records with this phone or email"), permissions=["review"]
    )
    def approve(self, request, queryset):
        _review_approve(
            self,
            request,
            queryset,
            lambda actor, c, subject: identity_check_approve(actor=actor, check=c, subject=subject),
        )

    @admin.action(description=_("Reject, with the reason above"), permissions=["review"])
    def reject(self, request, queryset):
        _review_reject(
            self, request, queryset, lambda actor, c, reason: identity_check_reject(actor=actor, check=c, reason=reason)
        )


@admin.register(DeceasedRepresentation)
class DeceasedRepresentationAdmin(PersonalRecordsAdmin, ReadOnlyAdmin):
    """Close relatives asking to act for a deceased person (PIPL Art 49); each proof is destroyed after review."""

    list_display = ("created_at", "relative", "relationship", "state", "proof_link", "reviewed_at")
    list_filter = ("state",)
    readonly_fields = (
        "relative",
        "relationship",
        "state",
        "proof_link",
        "note",
        "deceased",
        "decision_reason",
        "reviewed_by",
        "reviewed_at",
    )
    exclude = ("proof_ciphertext", "note_ciphertext")
    action_form = IdentityCheckActionForm
    actions = ["approve_relative", "reject_relative"]

    def has_review_permission(self, request):
        return request.user.has_perm("consent.review_identitycheck")

    @admin.display(description=_("proof"))
    def proof_link(self, obj):
        if obj.proof_ciphertext is None:
            return _("destroyed")
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:consent_deceasedrepresentation_proof", args=[obj.pk]), _("view")
        )

    @admin.display(description=_("who the deceased person was, in the relative's words"))
    def note(self, obj):
        return deceased_claim_note(obj)

    def get_urls(self):
        return [
            path(
                "<int:pk>/proof/",
                self.admin_site.admin_view(self.proof_view),
                name="consent_deceasedrepresentation_proof",
            ),
            *super().get_urls(),
        ]

    def proof_view(self, request, pk: int):
        if not self.has_review_permission(request):
            raise PermissionDenied
        claim = get_object_or_404(DeceasedRepresentation, pk=pk)
        return _private_document(
            request, lambda: deceased_claim_proof(claim), claim.proof_content_type, claim, "deceased.proof_viewed"
        )

    @admin.action(
        description=_("Approve: the relative acts for the deceased person with this phone or email"),
        permissions=["review"],
    )
    def approve_relative(self, request, queryset):
        _review_approve(
            self,
            request,
            queryset,
            lambda actor, c, person: deceased_claim_approve(actor=actor, claim=c, deceased=person),
        )

    @admin.action(description=_("Reject, with the reason above"), permissions=["review"])
    def reject_relative(self, request, queryset):
        _review_reject(
            self, request, queryset, lambda actor, c, reason: deceased_claim_reject(actor=actor, claim=c, reason=reason)
        )


@admin.register(SubjectMatchReview)
class SubjectMatchReviewAdmin(PersonalRecordsAdmin, ReadOnlyAdmin):
    """Reports that matched a known person by a shared identifier (a parent's phone, say), kept apart for review."""

    list_display = (
        "created_at",
        "reason",
        "reported_by",
        "subject",
        "matched",
        "state",
        "decided_by_text",
        "decided_at",
    )
    exclude = ("source", "decided_by")
    list_filter = ("state", "reason")
    readonly_fields = (
        "subject",
        "matched",
        "reason",
        "reported_by",
        "state",
        "decided_by_text",
        "decided_at",
        "created_at",
    )

    @admin.display(description=_("reported by"))
    def reported_by(self, obj):
        return actor_text(obj.source)

    @admin.display(description=_("decided by"))
    def decided_by_text(self, obj):
        return actor_text(obj.decided_by) if obj.decided_by else "—"

    actions = ["confirm_different"]

    def has_review_permission(self, request):
        return request.user.has_perm("consent.review_identitycheck")

    @admin.action(description=_("Confirm: different people (they stay apart)"), permissions=["review"])
    def confirm_different(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda review: subject_match_confirm_different(actor=actor, review=review),
            _("%(count)d confirmed as different people."),
        )
