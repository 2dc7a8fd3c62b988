"""Front-desk clerks (which account serves which company's counter) and the record of their visits."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from facerights.admin import AuditedModelAdmin, ReadOnlyAdmin
from facerights.models import User
from facerights.roles import Role

from .models import DeskClerk, DeskVisit


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
