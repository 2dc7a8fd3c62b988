from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from facerights.admin import AuditedModelAdmin, ReadOnlyAdmin, run_service_action
from facerights.audit import actor_for

from .models import ConsentEvent, ConsentRecord, DataSubject, Guardianship, Notice, Purpose
from .services import guardianship_record, notice_publish


@admin.register(Purpose)
class PurposeAdmin(AuditedModelAdmin):
    list_display = ("code", "name_zh", "name_en")
    search_fields = ("code", "name_zh", "name_en")


@admin.register(DataSubject)
class DataSubjectAdmin(ReadOnlyAdmin):
    """Subjects are shown by their pseudonymous id only; identifiers stay encrypted."""

    list_display = ("__str__", "uuid", "created_at", "shredded_at")
    search_fields = ("=uuid",)
    show_full_result_count = False
    exclude = ("wrapped_key", "name_ciphertext")


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
class ConsentRecordAdmin(ReadOnlyAdmin):
    list_display = ("subject", "system", "purpose", "method", "state", "given_at", "withdrawn_at")
    list_filter = ("state", "method", "channel")
    list_select_related = ("subject", "system", "purpose")
    show_full_result_count = False
    inlines = [ConsentEventInline]


@admin.register(Guardianship)
class GuardianshipAdmin(ReadOnlyAdmin):
    list_display = ("ward", "guardian", "relationship", "verified_at", "ended_at")
    list_filter = ("relationship",)
    actions = ["verify"]

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
