"""The request queue in the admin: open and overdue first, with the legal clock of each."""

import datetime as dt

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Case, IntegerField, Value, When
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
