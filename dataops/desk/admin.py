"""Front-desk clerks (which account serves which company's counter) and the record of their visits."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from facerights.admin import AuditedModelAdmin, ReadOnlyAdmin
from facerights.audit import actor_for
from facerights.models import User
from facerights.roles import Role

from ..registry.models import LegalEntity, ProcessingSystem
from ..requests.admin import RequestAdmin
from ..requests.models import Request
from ..requests.receipts import receipt_pdf
from .models import DeskClerk, DeskVisit
from .services import assisted_request_record


class DeskClerkForm(forms.ModelForm):
    class Meta:
        model = DeskClerk
        fields = ("user", "entity", "site", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:  # (absent where the page is only shown)
            # Only accounts in the desk role: they have no admin, and nothing but the desk.
            self.fields["user"].queryset = User.objects.filter(groups__name=Role.DESK)  # type: ignore[attr-defined]
            self.fields["user"].help_text = _("An account in the “desk” role (a superuser creates accounts).")

    def clean(self):
        data = super().clean() or {}
        site, entity = data.get("site"), data.get("entity")
        if site is not None and entity is not None and site.entity_id != entity.pk:
            raise ValidationError({"site": _("The site belongs to another legal entity.")})
        return data


@admin.register(DeskClerk)
class DeskClerkAdmin(AuditedModelAdmin):
    form = DeskClerkForm
    list_display = ("user", "entity", "site", "active")
    list_filter = ("entity", "active")

    def has_delete_permission(self, request, obj=None):
        return False  # a clerk's visits point to them: deactivate instead


@admin.register(DeskVisit)
class DeskVisitAdmin(ReadOnlyAdmin):
    """Every visit: who served, how the person was found and checked, what they asked. Never who they are."""

    list_display = ("clerk", "started_at", "found_by", "identity", "verified_at", "ended_at")
    list_filter = ("found_by", "identity", "clerk__entity")
    fields = ("clerk", "started_at", "found_by", "identity", "document_type", "verified_at", "ended_at", "requests")
    readonly_fields = fields


class RecordForm(forms.Form):
    """A request that came by phone or letter, as staff write it down."""

    entity = forms.ModelChoiceField(label=_("legal entity"), queryset=LegalEntity.objects.all())
    channel = forms.ChoiceField(
        label=_("received through"),
        choices=[(c.value, c.label) for c in (Request.Channel.PHONE, Request.Channel.LETTER)],
    )
    received_at = forms.SplitDateTimeField(
        label=_("received"),
        widget=AdminSplitDateTime,
        help_text=_("When the call came or the letter arrived, Beijing time: the legal clock starts here."),
    )
    phone = forms.CharField(label=_("phone number"), required=False, max_length=32)
    email = forms.EmailField(label=_("email"), required=False)
    name = forms.CharField(
        label=_("name"), required=False, max_length=100, help_text=_("Needed only for someone not on record yet.")
    )
    type = forms.ChoiceField(
        label=_("type"),
        choices=[(value, label) for value, label in Request.Type.choices if value in Request.ASSISTED_TYPES],
    )
    system = forms.ModelChoiceField(
        label=_("processing system"), queryset=ProcessingSystem.objects.all(), required=False
    )
    details = forms.CharField(
        label=_("what the person asks, in their words"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    identity_checked = forms.BooleanField(
        label=_("identity checked"),
        required=False,
        help_text=_(
            "Ticked only after calling back the number on record, or checking a copy of an identity document sent "
            "with the letter. Unticked, a deletion waits as a request until the DPO has checked."
        ),
    )


admin.site.unregister(Request)


@admin.register(Request)
class AssistedRequestAdmin(RequestAdmin):
    """The request queue, with what staff record for people: a request by phone or letter, a printed receipt."""

    change_list_template = "admin/dataops/request/change_list.html"
    actions = [*RequestAdmin.actions, "print_receipt"]

    def get_urls(self):
        return [
            path("record/", self.admin_site.admin_view(self.record_view), name="dataops_request_record"),
            *super().get_urls(),
        ]

    def record_view(self, request):
        if not self.has_handle_permission(request):
            raise PermissionDenied
        form = RecordForm(request.POST or None, initial={"received_at": timezone.localtime()})
        if request.method == "POST" and form.is_valid():
            try:
                made = assisted_request_record(actor=actor_for(request.user), **form.cleaned_data)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                self.message_user(
                    request,
                    _(
                        "Request %(reference)s recorded; its clock started when it was received. "
                        "To send the person a receipt with a lookup code, select it and print the receipt."
                    )
                    % {"reference": made.reference},
                    messages.SUCCESS,
                )
                return redirect("admin:dataops_request_change", made.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Record a request received by phone or letter"),
            "form": form,
        }
        return TemplateResponse(request, "admin/dataops/request/record.html", context)

    @admin.action(description=_("Print a receipt with a lookup code (PDF)"), permissions=["handle"])
    def print_receipt(self, request, queryset):
        requests = list(queryset.select_related("subject", "system", "entity"))
        if len({r.subject_id for r in requests}) != 1:
            self.message_user(request, _("Select the requests of one person."), messages.ERROR)
            return None
        entities = {r.entity for r in requests if r.entity is not None}
        if len(entities) != 1:
            self.message_user(
                request,
                _("A receipt names the company the requests were made to: select requests made to one company."),
                messages.ERROR,
            )
            return None
        [entity] = entities
        pdf = receipt_pdf(
            actor=actor_for(request.user), requests=requests, entity=entity, printed_on=timezone.localdate()
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = 'attachment; filename="receipt.pdf"'
        return response
