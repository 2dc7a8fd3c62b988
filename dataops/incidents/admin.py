"""Security incidents in the admin: open one in a minute, watch its clock, record the report, close it.

Operators and DPOs open and update incidents; recording the report and closing are the
DPO's (`decide_incident`). Nothing is ever deleted.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from facerights.admin import ReadOnlyAdmin, actor_column, run_service_action
from facerights.audit import actor_for
from facerights.present import actor_text, field_label, moment_text

from ..registry.models import ProcessingSystem
from .affected import affected_count, latest_key_lists
from .deadlines import clock_text
from .keys import KEYS_MAX_BYTES, affected_keys_upload
from .models import ContractReview, CorrectiveAction, Incident, IncidentNotice, IncidentReport
from .notices import (
    notice_approve,
    notice_draft,
    notice_missing,
    notice_portal_only,
    notice_progress,
    notice_publish,
    notice_save,
    notice_send,
    notice_url,
)
from .reports import report_generate, report_sent
from .services import (
    contract_review_decide,
    corrective_action_save,
    incident_check,
    incident_close,
    incident_enrolments_pause,
    incident_note,
    incident_report_record,
    incident_save,
)
from .timeline import event_text


class IncidentForm(forms.ModelForm):
    data_kinds = forms.MultipleChoiceField(
        label=_("kinds of data"), choices=Incident.DataKind.choices, widget=forms.CheckboxSelectMultiple
    )
    discovered_at = forms.SplitDateTimeField(
        label=_("discovered"),
        widget=AdminSplitDateTime,
        help_text=_("When it was discovered, Beijing time: the report's clock starts here."),
    )
    note = forms.CharField(
        label=_("add a note to the timeline"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    report_sent_at = forms.SplitDateTimeField(label=_("report sent at"), required=False, widget=AdminSplitDateTime)
    report_through = forms.CharField(
        label=_("reported through"),
        required=False,
        max_length=200,
        help_text=_("The 12387 hotline, the provincial platform or a letter, and any receipt number."),
    )
    closing_root_cause = forms.CharField(
        label=_("root cause"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    closing_review = forms.CharField(
        label=_("post-incident review"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    close = forms.BooleanField(label=_("close the incident"), required=False)

    class Meta:
        model = Incident
        fields = (
            "entity",
            "summary",
            "discovered_at",
            "grade",
            "critical_infrastructure",
            "systems",
            "scope_unknown",
            "sites",
            "other_parties",
            "data_kinds",
            "affected_enrolled_from",
            "affected_enrolled_until",
            "cause",
            "measures",
            "is_drill",
        )

    def clean(self):
        data = super().clean() or {}
        if data.get("report_through") and not data.get("report_sent_at"):
            self.add_error("report_sent_at", _("Give the time the report was sent."))
        if data.get("report_sent_at") and not data.get("report_through"):
            self.add_error("report_through", _("Say how it was reported, and any receipt number."))
        if data.get("close"):
            if self.instance.state == Incident.State.OPEN and not data.get("report_sent_at"):
                self.add_error("close", _("Record the report to the authority before closing the incident."))
            for name in ("closing_root_cause", "closing_review"):
                if not (data.get(name) or "").strip():
                    self.add_error(name, _("Needed to close the incident."))
        return data

    def _post_clean(self):  # Django's hook after the instance is built from the form
        super()._post_clean()  # type: ignore[misc]
        if "systems" not in self.fields:
            return  # a closed incident: everything is only shown
        systems, sites = self.cleaned_data.get("systems") or [], self.cleaned_data.get("sites") or []
        try:
            incident_check(self.instance, list(systems), list(sites))
        except ValidationError as exc:
            self._update_errors(exc)  # type: ignore[attr-defined]


class AffectedKeysForm(forms.Form):
    system = forms.ModelChoiceField(label=_("system"), queryset=ProcessingSystem.objects.none())
    upload = forms.FileField(
        label=_("the vendor's file"),
        help_text=_(
            "Plain text or CSV in UTF-8, one key per line (a CSV's first column; a header “subject_key” is skipped), "
            "at most 32 MB. It replaces the system's earlier list; the earlier one is kept in the timeline."
        ),
    )

    def __init__(self, *args, incident: Incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = incident.systems.all()  # type: ignore[attr-defined]

    def clean_upload(self):
        upload = self.cleaned_data["upload"]
        if upload.size > KEYS_MAX_BYTES:  # refused before it is read into memory
            raise ValidationError(
                _("The file is larger than 32 MB: split it by system, or ask the vendor for keys only.")
            )
        return upload


class CorrectiveActionInline(admin.TabularInline):
    """Corrective actions: added and marked done here, never removed (they are the incident's evidence)."""

    model = CorrectiveAction
    extra = 1
    can_delete = False
    fields = ("action", "owner", "due_on", "done_on")


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    form = IncidentForm
    inlines = [CorrectiveActionInline]
    list_display = ("reference", "entity", "grade", "state", "discovered_at", "clock", "is_drill")
    list_filter = ("state", "grade", "is_drill", "entity")
    search_fields = ("=reference",)
    filter_horizontal = ("systems", "sites")
    readonly_fields = ("reference", "state", "report_due_at", "clock", "affected", "contracts", "timeline")

    def get_fieldsets(self, request, obj=None):
        what = (
            None,
            {
                "fields": (
                    *(("reference", "state", "clock") if obj else ()),
                    "entity",
                    "summary",
                    "discovered_at",
                    "grade",
                    "critical_infrastructure",
                    "is_drill",
                )
            },
        )
        scope = (
            _("Where, and which data"),
            {
                "fields": (
                    "systems",
                    "scope_unknown",
                    "sites",
                    "other_parties",
                    "data_kinds",
                    "affected_enrolled_from",
                    "affected_enrolled_until",
                    *(("affected", "contracts") if obj else ()),
                )
            },
        )
        if obj is None:
            return [what, scope, (_("Cause and measures, if known"), {"fields": ("cause", "measures")})]
        later = [
            (_("Cause and measures"), {"fields": ("cause", "measures", "note")}),
            (_("Timeline"), {"fields": ("timeline",)}),
        ]
        if obj.state == Incident.State.CLOSED:
            later.insert(
                0, (_("Closed"), {"fields": ("reported_at", "report_channel", "closed_at", "root_cause", "review")})
            )
        elif request.user.has_perm("dataops.decide_incident"):
            if obj.state == Incident.State.OPEN:
                later.insert(0, (_("Report to the authority"), {"fields": ("report_sent_at", "report_through")}))
            else:
                later.insert(
                    0,
                    (
                        _("Close"),
                        {"fields": ("reported_at", "report_channel", "closing_root_cause", "closing_review", "close")},
                    ),
                )
        return [what, scope, *later]

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None:
            fields.append("is_drill")  # a drill stays a drill
            if obj.state != Incident.State.OPEN:
                fields += ["reported_at", "report_channel"]
            if obj.state == Incident.State.CLOSED:
                fields += [name for name in IncidentForm.Meta.fields if name not in fields] + [
                    "closed_at",
                    "root_cause",
                    "review",
                ]
        return fields

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        for name in set(self.get_readonly_fields(request, obj)) & set(form.base_fields):
            form.base_fields.pop(name)  # the form's own fields too, once they are only shown
        return form

    @admin.display(description=_("report clock"))
    def clock(self, obj):
        return clock_text(obj) if obj.pk else "—"

    @admin.display(description=_("people affected"))
    def affected(self, obj):
        counts = affected_count(obj)
        if counts is None:
            return _("Not known until the systems involved are named.")
        total = _(
            "%(total)d people: %(adults)d adults, %(children)d children under 14 (their guardians are told), "
            "%(unknown)d of unknown age"
        ) % {"total": counts.total, "adults": counts.adults, "children": counts.children, "unknown": counts.age_unknown}
        lists = format_html_join(
            "",
            "<li>{}</li>",
            (
                (
                    _(
                        "%(system)s: only the %(keys)d keys of the vendor's list of %(at)s "
                        "(%(unknown)d of them match no one on record)"
                    )
                    % {
                        "system": key_list.system,
                        "keys": key_list.keys_count,
                        "at": moment_text(key_list.uploaded_at),
                        "unknown": key_list.keys_count - key_list.matched,
                    },
                )
                for key_list in latest_key_lists(obj).values()
            ),
        )
        upload = (
            format_html(
                '<a href="{}">{}</a>',
                reverse("admin:dataops_incident_keys", args=[obj.pk]),
                _("Upload the vendor's list of the keys exposed"),
            )
            if obj.state != Incident.State.CLOSED
            else ""
        )
        return format_html("<p>{}</p><ul>{}</ul><p>{}</p>", total, lists, upload)

    @admin.display(description=_("contract reviews"))
    def contracts(self, obj):
        reviews = obj.contract_reviews.select_related("system")
        if not reviews:
            return _("None: no processor or recipient is involved.")
        return format_html_join(
            "",
            '<p><a href="{}">{}</a>: {}</p>',
            (
                (
                    reverse("admin:dataops_contractreview_change", args=[review.pk]),
                    review.system,
                    review.get_outcome_display() if review.outcome else _("open: to decide before closing"),
                )
                for review in reviews
            ),
        )

    def get_urls(self):
        return [
            path("<int:pk>/keys/", self.admin_site.admin_view(self.keys_view), name="dataops_incident_keys"),
            *super().get_urls(),
        ]

    def keys_view(self, request, pk: int):
        incident = get_object_or_404(Incident, pk=pk)
        if not self.has_change_permission(request, incident):
            raise PermissionDenied
        form = AffectedKeysForm(request.POST or None, request.FILES or None, incident=incident)
        if request.method == "POST" and form.is_valid():
            try:
                key_list = affected_keys_upload(
                    actor=actor_for(request.user),
                    incident=incident,
                    system=form.cleaned_data["system"],
                    content=form.cleaned_data["upload"].read(),
                )
            except ValidationError as exc:
                form.add_error("system" if hasattr(exc, "error_dict") else "upload", exc)
            else:
                self.message_user(
                    request,
                    _("%(keys)d keys kept for %(system)s; %(matched)d match people on record.")
                    % {"keys": key_list.keys_count, "system": key_list.system, "matched": key_list.matched},
                    messages.SUCCESS,
                )
                return redirect("admin:dataops_incident_change", incident.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("The vendor's list of the keys exposed"),
            "object": incident,
            "form": form,
        }
        return TemplateResponse(request, "admin/dataops/incident/keys.html", context)

    @admin.display(description=_("timeline"))
    def timeline(self, obj):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((moment_text(e.at), e.get_kind_display(), actor_text(e.actor), event_text(e)) for e in obj.events.all()),
        )
        return format_html("<table><tbody>{}</tbody></table>", rows)

    actions = ["pause_enrolments", "report_initial", "report_follow_up", "report_closing"]

    def has_delete_permission(self, request, obj=None):
        return False  # an incident is corrected by later entries, never deleted

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.decide_incident")

    def _report(self, request, queryset, kind):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda incident: report_generate(actor=actor, incident=incident, kind=kind),
            _("%(count)d report generated: download it under Incident reports, and record when it is sent."),
        )

    @admin.action(description=_("Generate the first report to the authority (PDF)"), permissions=["decide"])
    def report_initial(self, request, queryset):
        self._report(request, queryset, IncidentReport.Kind.INITIAL)

    @admin.action(description=_("Generate a follow-up report (PDF)"), permissions=["decide"])
    def report_follow_up(self, request, queryset):
        self._report(request, queryset, IncidentReport.Kind.FOLLOW_UP)

    @admin.action(description=_("Generate the closing report (PDF)"), permissions=["decide"])
    def report_closing(self, request, queryset):
        self._report(request, queryset, IncidentReport.Kind.CLOSING)

    @admin.action(description=_("Pause new enrolments in the systems involved"), permissions=["change"])
    def pause_enrolments(self, request, queryset):
        actor = actor_for(request.user)
        paused = sum(incident_enrolments_pause(actor=actor, incident=incident) for incident in queryset)
        self.message_user(
            request, _("New enrolments paused in %(count)d systems.") % {"count": paused}, messages.SUCCESS
        )

    def save_model(self, request, obj, form, change):
        pass  # saved with its systems and sites in save_related, through the service

    def save_formset(self, request, form, formset, change):
        actor = actor_for(request.user)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for inline_form in formset.forms:
            if inline_form.has_changed() and inline_form.is_valid() and inline_form.cleaned_data:
                action = inline_form.instance  # built from the form by its validation
                action.incident = form.instance
                adding = action.pk is None
                corrective_action_save(actor=actor, action=action)
                if adding:
                    formset.new_objects.append(action)
                else:
                    formset.changed_objects.append((action, inline_form.changed_data))

    def save_related(self, request, form, formsets, change):
        actor = actor_for(request.user)
        data = form.cleaned_data
        incident = incident_save(
            actor=actor,
            incident=form.instance,
            # Once closed, the systems and sites are only shown: they stay as they are.
            systems=data["systems"] if "systems" in data else form.instance.systems.all(),
            sites=data["sites"] if "sites" in data else form.instance.sites.all(),
            user=request.user,
        )
        form.instance = incident
        for formset in formsets:
            formset.instance = incident
            self.save_formset(request, form, formset, change=change)
        if not change:
            return
        if data.get("note"):
            incident_note(actor=actor, incident=incident, text=data["note"])
        if not request.user.has_perm("dataops.decide_incident"):
            return
        try:
            if data.get("report_sent_at") and incident.state == Incident.State.OPEN:
                incident_report_record(
                    actor=actor,
                    incident=incident,
                    reported_at=data["report_sent_at"],
                    channel=data.get("report_through", ""),
                )
            if data.get("close"):
                incident_close(
                    actor=actor,
                    incident=incident,
                    root_cause=data.get("closing_root_cause", ""),
                    review=data.get("closing_review", ""),
                )
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)


class IncidentNoticeForm(forms.ModelForm):
    class Meta:
        model = IncidentNotice
        fields = (
            "incident",
            "cause_zh",
            "cause_en",
            "harm_zh",
            "harm_en",
            "remedies_zh",
            "remedies_en",
            "advice_zh",
            "advice_en",
            "contact_zh",
            "contact_en",
        )
        widgets = {name: forms.Textarea(attrs={"rows": 2}) for name in fields if name != "incident"}


@admin.register(IncidentNotice)
class IncidentNoticeAdmin(admin.ModelAdmin):
    """Notices to the people affected: drafted from the incident, approved, sent, published."""

    form = IncidentNoticeForm
    list_display = ("__str__", "state", "approved_by", "second_approved_by", "sent_at", "published_at")
    list_filter = ("state",)
    actions = ["approve", "send", "publish"]
    readonly_fields = (
        "reference",
        "state",
        "approved_by",
        "approved_at",
        "second_approved_by",
        "second_approved_at",
        "sent_at",
        "published_at",
        "missing",
        "progress",
        "public_page",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("incident",)  # the draft is written from the incident, then completed here
        return (
            *self.readonly_fields[:2],
            "missing",
            *IncidentNoticeForm.Meta.fields[1:],
            *self.readonly_fields[2:8],
            "progress",
            "public_page",
        )

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.state == IncidentNotice.State.SENDING:
            return (*self.readonly_fields, *IncidentNoticeForm.Meta.fields[1:])
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Art 57 items still missing"))
    def missing(self, obj):
        return "; ".join(notice_missing(obj)) or _("none: every item is there in both languages")

    @admin.display(description=_("delivery"))
    def progress(self, obj):
        rows = notice_progress(obj)
        if not rows:
            return "—"
        portal_only = notice_portal_only(obj)
        warning = (
            format_html(
                '<p class="errornote">{}</p>',
                _(
                    "%(n)d people have no email or phone on record and are told only on the portal: "
                    "reach them another way, or publish the notice as an announcement."
                )
                % {"n": portal_only},
            )
            if portal_only
            else ""
        )
        return format_html(
            "{}{}",
            warning,
            format_html_join(
                "",
                "<p>{}: {}</p>",
                (
                    (
                        field_label("dataops.NoticeDelivery.channel", channel),
                        ", ".join(
                            f"{field_label('dataops.NoticeDelivery.state', state)} {n}" for state, n in states.items()
                        ),
                    )
                    for channel, states in rows.items()
                ),
            ),
        )

    @admin.display(description=_("public page"))
    def public_page(self, obj):
        return notice_url(obj) if obj.state == IncidentNotice.State.SENDING or obj.published_at else "—"

    def save_model(self, request, obj, form, change):
        actor = actor_for(request.user)
        if change:
            notice_save(actor=actor, notice=obj)
        else:
            form.instance = notice_draft(actor=actor, incident=form.cleaned_data["incident"])
            obj.pk, obj.reference = form.instance.pk, form.instance.reference  # the draft the service made

    def response_add(self, request, obj, post_url_continue=None):
        self.message_user(request, _("Draft written from the incident: complete every item, then approve it."))
        return redirect("admin:dataops_incidentnotice_change", obj.pk)  # the draft is completed there

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.decide_incident")

    def _run(self, request, queryset, service, done):
        actor = actor_for(request.user)
        run_service_action(self, request, queryset, lambda notice: service(actor=actor, notice=notice), done)

    @admin.action(description=_("Approve"), permissions=["decide"])
    def approve(self, request, queryset):
        self._run(request, queryset, notice_approve, _("%(count)d approved."))

    @admin.action(description=_("Send to the people affected"), permissions=["decide"])
    def send(self, request, queryset):
        self._run(request, queryset, notice_send, _("%(count)d queued: the people affected are being told."))

    @admin.action(description=_("Publish as a public announcement"), permissions=["decide"])
    def publish(self, request, queryset):
        self._run(request, queryset, notice_publish, _("%(count)d published."))


class ReportActionForm(ActionForm):
    through = forms.CharField(
        label=_("sent through (to record a sending)"),
        required=False,
        max_length=200,
        help_text=_("The 12387 hotline, the provincial platform or a letter, and any receipt number."),
    )


@admin.register(IncidentReport)
class IncidentReportAdmin(ReadOnlyAdmin):
    """Reports to the authority: each version frozen with its fingerprint; the one sent marked with its time."""

    action_form = ReportActionForm
    actions = ["record_sent"]
    list_display = ("__str__", "generated_at", "fingerprint", "sent_at", "sent_through", "download")
    list_filter = ("kind",)
    fields = (
        "incident",
        "kind",
        "version",
        "generated_at",
        "generated_by_name",
        "fingerprint",
        "signature",
        "sent_at",
        "sent_through",
        "download",
    )
    readonly_fields = fields
    generated_by_name = actor_column("generated_by", _("generated by"))

    @admin.display(description=_("PDF"))
    def download(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:dataops_incidentreport_pdf", args=[obj.pk]), _("download")
        )

    def get_urls(self):
        return [
            path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="dataops_incidentreport_pdf"),
            *super().get_urls(),
        ]

    def pdf_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = get_object_or_404(IncidentReport, pk=pk)
        response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="{report.incident.reference}-{report.kind}-v{report.version}.pdf"'
        )
        return response

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.decide_incident")

    @admin.action(description=_("Record as sent now"), permissions=["decide"])
    def record_sent(self, request, queryset):
        actor, through = actor_for(request.user), request.POST.get("through", "")
        run_service_action(
            self,
            request,
            queryset,
            lambda report: report_sent(actor=actor, report=report, sent_at=timezone.now(), through=through),
            _("%(count)d recorded as sent."),
        )


class ContractReviewForm(forms.ModelForm):
    class Meta:
        model = ContractReview
        fields = ("outcome", "findings")

    def clean(self):
        data = super().clean() or {}
        if not data.get("outcome"):
            self.add_error("outcome", _("Choose the outcome."))
        if not (data.get("findings") or "").strip():
            self.add_error("findings", _("Give the findings: what the contract required, what happened, what changes."))
        return data


@admin.register(ContractReview)
class ContractReviewAdmin(admin.ModelAdmin):
    """Reviews of a processor's or recipient's contract after an incident: opened by the incident, decided by the DPO."""

    form = ContractReviewForm
    list_display = ("incident", "system", "opened_at", "outcome", "decided_at")
    list_filter = ("outcome",)
    readonly_fields = ("incident", "system", "contract", "opened_at", "decided_by_name", "decided_at")
    fields = ("incident", "system", "contract", "opened_at", "outcome", "findings", "decided_by_name", "decided_at")
    decided_by_name = actor_column("decided_by", _("decided by"))

    @admin.display(description=_("contract"))
    def contract(self, obj):
        system = obj.system
        return format_html(
            "{} · {} · {}",
            system.counterparty_name or "—",
            system.contract_reference or "—",
            system.contract_data_types or "—",
        )

    def has_change_permission(self, request, obj=None):
        # The DPO decides, once; everyone else with access only reads.
        # (Read from the database: after a failed POST, `obj` carries the form's values.)
        decider = request.user.has_perm("dataops.decide_incident")
        decided = obj is not None and ContractReview.objects.filter(pk=obj.pk).exclude(outcome="").exists()
        return decider and super().has_change_permission(request, obj) and not decided

    def has_add_permission(self, request):
        return False  # an incident opens its reviews

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        contract_review_decide(
            actor=actor_for(request.user),
            review=obj,
            outcome=form.cleaned_data["outcome"],
            findings=form.cleaned_data.get("findings", ""),
        )
