"""The workbench in the admin: CSV record exports."""

from django.contrib import admin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from facerights.audit import actor_for

from .models import EvidenceExport
from .records import record_export_content, record_export_request


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
        created = record_export_request(
            actor=actor_for(request.user),
            user=request.user,
            kind=obj.kind,
            date_from=obj.date_from,
            date_to=obj.date_to,
            language=request.LANGUAGE_CODE,
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
        response = HttpResponse(record_export_content(export), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="facerights-{export.kind}-{export.date_from}-{export.date_to}.csv"'
        )
        return response
