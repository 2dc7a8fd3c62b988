from typing import Any, cast

from allauth.account.decorators import secure_admin_login
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Q, QuerySet
from django.http.response import HttpResponseRedirectBase
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from .accounts import authenticator_remove, user_password_changed, user_save
from .audit import actor_for, audit_chain_verify
from .compliance import obligations_load
from .forms import CalendarYearForm, schedule_months
from .models import AuditEvent, CalendarDay, CalendarYear, User
from .present import actor_text
from .schedules import calendar_year_enter
from .services import record_delete, record_save, staff_record_read, staff_records_searched


class AuditedModelAdmin(admin.ModelAdmin):
    """Saves and deletes through the kernel services, so each change writes its audit event."""

    def save_model(self, request, obj, form, change):
        record_save(actor=actor_for(request.user), instance=obj)

    def delete_model(self, request, obj):
        record_delete(actor=actor_for(request.user), instance=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def actor_column(field: str, description):
    """An admin column or field showing who acted by name and role, never `user:2`."""

    @admin.display(description=description, ordering=field)
    def show(self, obj):
        return actor_text(getattr(obj, field)) or "—"

    return show


def run_service_action(modeladmin, request, queryset, service, done_message):
    """Apply a service to each selected row; report what worked and why the rest did not."""
    done = 0
    for obj in queryset:
        try:
            service(obj)
            done += 1
        except ValidationError as exc:
            modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
    if done:
        modeladmin.message_user(request, done_message % {"count": done}, messages.SUCCESS)


def typed_confirmation(modeladmin, request, queryset, *, title, consequence, perform, done_message):
    """Run an irreversible action on one row, only once its name is typed out exactly.

    Returns the confirmation page (first call, or a name that does not match),
    or None once the action ran (its result reported as a message).
    """
    if queryset.count() != 1:
        modeladmin.message_user(request, _("Select exactly one row for this action."), messages.ERROR)
        return None
    obj = queryset.get()
    expected = str(obj)
    typed = request.POST.get("typed_name")
    error = None
    if typed is not None:
        if typed.strip() == expected:
            try:
                perform(obj)
            except ValidationError as exc:
                modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
            else:
                modeladmin.message_user(request, done_message % {"name": expected}, messages.WARNING)
            return None
        error = _("The name you typed does not match. Nothing was done.")
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "consequence": consequence,
        "object": obj,
        "expected": expected,
        "action": request.POST.get("action", ""),
        "error": error,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/typed_confirmation.html", context)


class PersonalRecordsAdmin(admin.ModelAdmin):
    """An admin of records about people: every record a staff member opens, and every search, is audited (R25).

    The read is recorded in the person's own chain, so it shows in the evidence about
    them; a search records the model and how many rows it found, never the term.
    """

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                staff_record_read(actor=actor_for(request.user), target=obj)
        return response

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None) or {}
        changelist = context.get("cl")
        if request.GET.get("q", "").strip() and changelist is not None:
            staff_records_searched(actor=actor_for(request.user), model=self.model, results=len(changelist.result_list))
        return response


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EstimatedCountPaginator(Paginator):
    """Counting millions of rows on every page is what makes a changelist slow.

    Unfiltered, on PostgreSQL, the count is the planner's estimate (pg_class.reltuples,
    kept fresh by autovacuum); filtered lists use indexed filters and count exactly.
    """

    @cached_property
    def count(self) -> int:
        queryset = cast("QuerySet[Any]", self.object_list)  # an admin changelist always pages a queryset
        query = queryset.query
        if connection.vendor == "postgresql" and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [queryset.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row and row[0] > 10_000:
                return int(row[0])
        return super().count


# The admin's own login form would skip the second factor: it hands over to allauth.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]  # allauth's documented admin setup
admin.site.site_header = _("FaceRights: data-protection officer")
admin.site.site_title = _("FaceRights")
admin.site.index_title = _("Workbench")


# The account models of allauth and Django, made read-only or audited: a verified email address
# links an account to a person's records, an authenticator is the second factor of the admin,
# and a group is a role (kept in step with the code by facerights.roles). Imported first so
# that their registrations exist to be replaced.
from allauth.account import admin as _allauth_account_admin  # noqa: E402, I001
from allauth.mfa import admin as _allauth_mfa_admin  # noqa: E402
from allauth.account.models import EmailAddress  # noqa: E402
from allauth.mfa.models import Authenticator  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402

from django_celery_beat import admin as _beat_admin  # noqa: E402
from django_celery_beat.models import PeriodicTask  # noqa: E402

admin.site.unregister(EmailAddress)
admin.site.unregister(Authenticator)
admin.site.unregister(Group)


admin.site.unregister(PeriodicTask)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(_beat_admin.PeriodicTaskAdmin):
    """The schedules of beat. Enabling, disabling or running one now needs the right to change them."""

    def get_actions(self, request):
        return super().get_actions(request) if self.has_change_permission(request) else {}


@admin.register(EmailAddress)
class EmailAddressAdmin(ReadOnlyAdmin, _allauth_account_admin.EmailAddressAdmin):
    """Email addresses, to read: an address is verified only by its owner, through allauth."""

    actions = []


@admin.register(Group)
class RoleAdmin(ReadOnlyAdmin, GroupAdmin):
    """The roles, to read: their permissions are set by the code after every migrate (facerights.roles)."""


@admin.register(Authenticator)
class AuthenticatorAdmin(ReadOnlyAdmin, _allauth_mfa_admin.AuthenticatorAdmin):
    """Second factors, to read, and to remove when a staff member lost theirs (audited; they set a new one up)."""

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser

    def delete_model(self, request, obj):
        authenticator_remove(actor=actor_for(request.user), authenticator=obj)

    def delete_queryset(self, request, queryset):
        for authenticator in queryset:
            self.delete_model(request, authenticator)


@admin.register(User)
class AccountAdmin(UserAdmin):
    """Accounts, saved through `facerights.accounts` so each change of access is audited.

    Roles are groups (facerights.roles): there are no per-account permissions to grant.
    """

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")

    def save_model(self, request, obj, form, change):
        groups = form.cleaned_data.get("groups") if change else None
        user_save(actor=actor_for(request.user), user=obj, groups=groups)

    def save_related(self, request, form, formsets, change):
        pass  # the groups were set by user_save, in its transaction

    def has_delete_permission(self, request, obj=None):
        return False  # accounts are deactivated, never deleted: the audit log refers to them

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if (
            request.method == "POST"
            and response.status_code == 302
            and isinstance(response, HttpResponseRedirectBase)
            and "password" not in response.url
        ):
            user_password_changed(actor=actor_for(request.user), user=User.objects.get(pk=unquote(id)))
        return response


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    paginator = EstimatedCountPaginator
    list_display = ("at", "chain", "seq", "actor", "action", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("=chain", "=action", "=object_id", "=actor")
    date_hierarchy = "at"
    show_full_result_count = False
    actions = ["verify_chains"]

    @admin.action(description=_("Verify every audit chain"))
    def verify_chains(self, request, queryset):
        breaks = audit_chain_verify()
        if breaks:
            for found in breaks:
                self.message_user(request, str(found), messages.ERROR)
        else:
            self.message_user(request, _("Every audit chain holds."), messages.SUCCESS)


@admin.register(CalendarYear)
class CalendarYearAdmin(AuditedModelAdmin):
    """A year's holiday schedule: entered in one step from the State Council's notice (Enter a year)."""

    list_display = ("year", "is_complete", "source")
    change_list_template = "admin/facerights/calendaryear/change_list.html"

    def get_urls(self):
        return [
            path("enter/", self.admin_site.admin_view(self.enter_view), name="facerights_calendaryear_enter"),
            *super().get_urls(),
        ]

    def enter_view(self, request):
        """Type or upload the year's holidays and make-up working days, preview them as a calendar, then save."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CalendarYearForm(request.POST or None, request.FILES or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            days = form.cleaned_data["days"]
            if "save" in request.POST:
                calendar_year_enter(
                    actor=actor_for(request.user),
                    year=form.cleaned_data["year"],
                    days=days,
                    source=form.cleaned_data["source"],
                    complete=True,
                )
                self.message_user(
                    request,
                    _("%(year)d is entered and complete: provisional deadlines are being computed again.")
                    % {"year": form.cleaned_data["year"]},
                    messages.SUCCESS,
                )
                return redirect("admin:facerights_calendaryear_changelist")
            preview = schedule_months(form.cleaned_data["year"], days)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Enter a year's holiday schedule"),
            "form": form,
            "preview": preview,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/facerights/calendaryear/enter.html", context)


@admin.register(CalendarDay)
class CalendarDayAdmin(AuditedModelAdmin):
    list_display = ("date", "kind", "name")
    list_filter = ("kind",)
    date_hierarchy = "date"


def compliance_matrix_view(request):
    """The compliance matrix, read-only, for staff with view access to the audit log."""

    if not request.user.has_perm("facerights.view_auditevent"):
        raise PermissionDenied
    obligations = obligations_load()
    context = {
        **admin.site.each_context(request),
        "title": _("Compliance matrix"),
        "obligations": obligations,
        "state_labels": {
            o.ref: {"met": _("met"), "partly met": _("partly met"), "not yet": _("not yet")}.get(o.state, o.state)
            for o in obligations
        },
        "met": sum(1 for o in obligations if o.state == "met"),
        "partly": sum(1 for o in obligations if o.state == "partly met"),
        "not_yet": sum(1 for o in obligations if o.state == "not yet"),
    }
    return TemplateResponse(request, "admin/compliance_matrix.html", context)


class ExactSearchMixin:
    """Search by exact value on indexed columns (a reference, a key): the admin's `=field`
    search compares UPPER() of both sides, which no index serves on millions of rows."""

    exact_search_fields: tuple[str, ...] = ()
    uppercase_search = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term or not self.exact_search_fields:
            return queryset, False
        if self.uppercase_search:
            term = term.upper()
        query = Q()
        for field in self.exact_search_fields:
            query |= Q(**{field: term})
        return queryset.filter(query), False
