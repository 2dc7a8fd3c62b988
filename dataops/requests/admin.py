"""The request queue in the admin: open and overdue first, with the legal clock of each."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from facerights.admin import (
    AuditedModelAdmin,
    EstimatedCountPaginator,
    ExactSearchMixin,
    PersonalRecordsAdmin,
    ReadOnlyAdmin,
    run_service_action,
)
from facerights.audit import actor_for
from facerights.present import due_text
from facerights.workdays import working_days_left

from .corrections import request_correction_apply
from .models import Request, ResponseTimePolicy
from .services import request_complete, request_details, request_extend, request_refuse


class RequestActionForm(ActionForm):
    reason_code = forms.ChoiceField(
        label=_("refusal reason"),
        required=False,
        choices=[("", "---")] + list(Request._meta.get_field("refusal_reason_code").choices or ()),
    )
    text = forms.CharField(label=_("explanation the person sees"), required=False)
    until = forms.DateField(label=_("extend to (YYYY-MM-DD)"), required=False)


class CorrectionForm(forms.Form):
    """What the DPO found to be wrong or missing; only what is given changes."""

    name = forms.CharField(label=_("name"), required=False, max_length=100)
    date_of_birth = forms.DateField(
        label=_("date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    phone = forms.CharField(label=_("phone number to add"), required=False, max_length=32)
    email = forms.EmailField(label=_("email to add"), required=False)


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            # Overdue as soon as the earliest the deadline can be has passed (a provisional one included).
            return queryset.filter(state__in=Request.OPEN_STATES, due_earliest__lt=timezone.localdate())
        return queryset


@admin.register(Request)
class RequestAdmin(ExactSearchMixin, PersonalRecordsAdmin, ReadOnlyAdmin):
    exact_search_fields = ("reference",)
    uppercase_search = True
    """The request queue: open and overdue first, with the working days left on each."""

    list_display = (
        "reference",
        "type",
        "channel",
        "subject_masked",
        "state",
        "due",
        "working_days_left",
        "acknowledged_at",
    )
    list_filter = (OverdueFilter, "state", "type", "channel", "system", "system__entity")
    list_select_related = ("subject",)
    search_fields = ("=reference",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_queryset(self, request):
        open_first = Case(
            When(state__in=Request.OPEN_STATES, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return super().get_queryset(request).annotate(open_rank=open_first).order_by("open_rank", "due_earliest", "pk")

    @admin.display(description=_("person"))
    def subject_masked(self, obj):
        return str(obj.subject.uuid)[:8] + "…"

    @admin.display(description=_("due"), ordering="due_earliest")
    def due(self, obj):
        return due_text(obj.due)

    @admin.display(description=_("working days left"))
    def working_days_left(self, obj):
        if obj.state not in Request.OPEN_STATES:
            return "—"
        left, estimated = working_days_left(timezone.localdate(), obj.due_earliest)
        if left < 0:
            return format_html('<strong class="overdue">{}</strong>', _("overdue by %(n)d") % {"n": -left})
        return _("%(n)d (provisional)") % {"n": left} if estimated or obj.due_on_provisional else left

    readonly_fields = ("details", "correction")
    exclude = ("details_ciphertext",)

    @admin.display(description=_("correction"))
    def correction(self, obj):
        if obj.type != Request.Type.CORRECTION or obj.state not in Request.OPEN_STATES:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:dataops_request_correct", args=[obj.pk]), _("Review and apply it")
        )

    def get_urls(self):
        return [
            path("<int:pk>/correct/", self.admin_site.admin_view(self.correct_view), name="dataops_request_correct"),
            *super().get_urls(),
        ]

    def correct_view(self, request, pk: int):
        if not self.has_refuse_permission(request):  # the DPO's decision, as a refusal is
            raise PermissionDenied
        item = get_object_or_404(Request, pk=pk, type=Request.Type.CORRECTION)
        form = CorrectionForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                request_correction_apply(actor=actor_for(request.user), request=item, **form.cleaned_data)
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc)
            else:
                self.message_user(request, _("Corrected; the request is complete and the person is told."))
                return redirect("admin:dataops_request_change", item.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Apply the correction of %(reference)s") % {"reference": item.reference},
            "form": form,
            "what": request_details(item),
        }
        return TemplateResponse(request, "admin/dataops/request/correct.html", context)

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
