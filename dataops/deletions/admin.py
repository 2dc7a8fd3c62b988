"""The deletion ledger in the admin: deletions, propagations and attempts, connection tests, bulk jobs."""

from django.contrib import admin, messages
from django.db.models import F
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from facerights.admin import (
    EstimatedCountPaginator,
    ExactSearchMixin,
    PersonalRecordsAdmin,
    ReadOnlyAdmin,
    actor_column,
    run_service_action,
    typed_confirmation,
)
from facerights.audit import actor_for
from facerights.present import actor_text

from ..registry.admin import ProcessingSystemAdmin as RegistryProcessingSystemAdmin
from ..registry.models import ProcessingSystem
from .bulk import bulk_or_inline
from .connection_tests import connection_test_start
from .contracts import processor_contract_end
from .delivery.pull import reconcile_hold_decide
from .errors import error_explained, error_html
from .models import BulkJob, DeletionRequest, DeliveryAttempt, Propagation, ReconcileHold

admin.site.unregister(ProcessingSystem)


@admin.register(ProcessingSystem)
class ProcessingSystemAdmin(RegistryProcessingSystemAdmin):
    """The registry's system admin, with the connection test that proves a system receives deletions."""

    actions = ["connection_test", *RegistryProcessingSystemAdmin.actions, "end_contract"]
    list_display = (*RegistryProcessingSystemAdmin.list_display, "last_test")

    @admin.display(description=_("connection test"))
    def last_test(self, obj):
        test = obj.connection_tests.order_by("-started_at").first()
        if test is None:
            return "—"
        if test.passed_at:
            return _("passed")
        failed = test.deletion_request.propagations.filter(state=Propagation.State.ESCALATED).first()
        if failed is not None:
            return _("failed: %(why)s") % {"why": error_explained(failed.last_error) or _("past its deadline")}
        return _("waiting for the system")

    @admin.action(
        description=_("Run a connection test (a draft system is activated when it passes and nothing else is missing)"),
        permissions=["change"],
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

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")

    @admin.action(
        description=_("End the processor's contract: delete everything it holds and wait for its certificate"),
        permissions=["decide"],
    )
    def end_contract(self, request, queryset):
        actor = actor_for(request.user)
        return typed_confirmation(
            self,
            request,
            queryset,
            title=_("End the processor's contract"),
            consequence=_(
                "The system is retired: it enrols no one new. A deletion opens for every person it holds, "
                "and each closes only when the processor confirms with its deletion certificate; "
                "a processor may keep nothing once its contract has ended (PIPL Art 21). This cannot be undone."
            ),
            perform=lambda system: processor_contract_end(actor=actor, system=system),
            done_message=_("%(name)s: contract ended; deletions are being opened for everyone it holds."),
        )


class PropagationInline(admin.TabularInline):
    model = Propagation
    extra = 0
    can_delete = False
    fields = ("system", "state", "attempts", "deadline", "confirmed_at", "evidence_sha256", "problem")
    readonly_fields = fields
    show_change_link = True

    @admin.display(description=_("last problem"))
    def problem(self, obj):
        return error_html(obj.last_error)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(DeletionRequest)
class DeletionRequestAdmin(ExactSearchMixin, PersonalRecordsAdmin, ReadOnlyAdmin):
    exact_search_fields = ("reference",)
    uppercase_search = True
    paginator = EstimatedCountPaginator
    list_display = ("reference", "action", "trigger", "state", "due_on", "created_at", "completed_at")
    list_filter = ("state", "action", "trigger")
    search_fields = ("=reference",)
    show_full_result_count = False
    inlines = [PropagationInline]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("number", "started_at", "finished_at", "outcome", "http_status", "problem")
    readonly_fields = fields

    @admin.display(description=_("problem"))
    def problem(self, obj):
        return error_html(obj.error)

    def has_add_permission(self, request, obj=None):
        return False


class ForWhomFilter(admin.SimpleListFilter):
    """People's deletions by default; connection tests (synthetic) only when asked for, never in the real queue."""

    title = _("for whom")
    parameter_name = "for"

    def lookups(self, request, model_admin):
        return [("people", _("people's data")), ("tests", _("connection tests"))]

    def choices(self, changelist):
        for value, label in self.lookup_choices:
            selected = self.value() == value or (value == "people" and self.value() is None)
            yield {
                "selected": selected,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        if self.value() == "tests":
            return queryset.filter(deletion_request__subject__is_synthetic=True)
        return queryset.for_people()


@admin.register(Propagation)
class PropagationAdmin(ExactSearchMixin, PersonalRecordsAdmin, ReadOnlyAdmin):
    exact_search_fields = ("deletion_request__reference", "idempotency_key")
    paginator = EstimatedCountPaginator
    list_display = ("deletion_request", "system", "state", "attempts", "next_attempt_at", "deadline", "escalated_at")
    list_filter = (ForWhomFilter, "state", "system")
    list_select_related = ("deletion_request", "system")
    search_fields = ("=deletion_request__reference", "=idempotency_key")
    show_full_result_count = False
    # Escalated first, the latest on top; PostgreSQL sorts NULLs first in a descending order, so say where they go.
    ordering = (F("escalated_at").desc(nulls_last=True), "deadline")  # type: ignore[assignment]  # Django takes expressions
    exclude = ("manual_nonce", "claimed_until", "last_error")
    readonly_fields = ("problem",)

    @admin.display(description=_("last problem"))
    def problem(self, obj):
        return error_html(obj.last_error)

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


@admin.register(BulkJob)
class BulkJobAdmin(ReadOnlyAdmin):
    list_display = ("operation", "state", "done", "failed", "total", "created_at")
    readonly_fields = ("operation", "state", "progress", "done", "failed", "total", "actor_name", "created_at")
    exclude = ("object_ids", "params", "actor")
    actor_name = actor_column("actor", _("by"))

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


@admin.register(ReconcileHold)
class ReconcileHoldAdmin(ReadOnlyAdmin):
    """A device's inventory that would close many deletions: the DPO confirms or rejects it."""

    list_display = ("system", "closing_of_open", "inventory_size", "state", "created_at", "decided_by_name")
    list_filter = ("state", "system")
    readonly_fields = (
        "system",
        "inventory_size",
        "inventory_sha256",
        "open_count",
        "closing_of_open",
        "state",
        "created_at",
        "decided_by_name",
        "decided_at",
    )
    exclude = ("propagation_ids", "decided_by")
    actions = ["confirm_closing", "reject_closing"]

    @admin.display(description=_("would close, of the open instructions"))
    def closing_of_open(self, obj):
        return f"{obj.closing} / {obj.open_count}"

    @admin.display(description=_("decided by"))
    def decided_by_name(self, obj):
        return actor_text(obj.decided_by) if obj.decided_by else "—"

    def has_decide_permission(self, request):
        return request.user.has_perm("dataops.approve_impactassessment")  # the DPO's decisions

    @admin.action(
        description=_("Confirm: the device holds none of them; close them as not found"), permissions=["decide"]
    )
    def confirm_closing(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda hold: reconcile_hold_decide(actor=actor, hold=hold, confirm=True),
            _("%(count)d confirmed."),
        )

    @admin.action(description=_("Reject: the list was wrong; keep them open"), permissions=["decide"])
    def reject_closing(self, request, queryset):
        actor = actor_for(request.user)
        run_service_action(
            self,
            request,
            queryset,
            lambda hold: reconcile_hold_decide(actor=actor, hold=hold, confirm=False),
            _("%(count)d rejected."),
        )
