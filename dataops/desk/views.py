"""The front-desk screen: find the person at the counter, check who they are, act for them, print the slip.

Every view is for an active desk clerk (with a second factor, `facerights.staff`) and
reaches only the clerk's own open visits; anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent.services import subject_name
from facerights import ratelimit
from facerights.present import field_label, moment_text

from .forms import CodeForm, DocumentForm, FindForm, RequestForm
from .models import DeskVisit
from .services import (
    clerk_for,
    desk_code_check,
    desk_code_send,
    desk_find,
    desk_identity_document,
    desk_receipt,
    desk_request,
    desk_visit_end,
    desk_withdraw,
    entity_systems,
    visit_consents,
    visit_for,
    visit_phone,
)

FINDS_PER_HOUR = 60  # a counter serves people one at a time; more is someone browsing


def desk_view(view):
    """For an active desk clerk; the clerk is passed to the view."""

    @never_cache
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        clerk = clerk_for(request.user)
        if clerk is None:
            raise Http404
        return view(request, clerk, *args, **kwargs)

    return wrapper


def _visit(clerk, visit_id: int, *, verified: bool = False) -> DeskVisit:
    visit = visit_for(clerk, visit_id, verified=verified)
    if visit is None:
        raise Http404
    return visit


@desk_view
def desk_home(request, clerk):
    form = FindForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if not ratelimit.allow("desk-find", str(clerk.pk), limit=FINDS_PER_HOUR, window_seconds=3600):
            form.add_error(None, _("Too many lookups in the last hour from this desk. The DPO has the audit trail."))
        else:
            try:
                visit = desk_find(clerk=clerk, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return redirect("desk:visit", visit_id=visit.pk)
    return render(request, "desk/home.html", {"clerk": clerk, "form": form})


@desk_view
def desk_visit(request, clerk, visit_id: int):
    visit = _visit(clerk, visit_id)
    context = {"clerk": clerk, "visit": visit, "name": subject_name(visit.subject), "ends": moment_text(visit.ends_at)}
    if visit.verified_at is None:
        context.update(document_form=DocumentForm(), code_form=CodeForm(), has_phone=visit_phone(visit) is not None)
        return render(request, "desk/identity.html", context)
    context.update(
        consents=visit_consents(visit),
        request_form=RequestForm(systems=entity_systems(clerk)),
        made=[
            {"reference": r.reference, "type": field_label("dataops.Request.type", r.type), "system": r.system}
            for r in visit.requests.select_related("system").order_by("received_at", "pk")
        ],
    )
    return render(request, "desk/visit.html", context)


@desk_view
@require_POST
def desk_identity(request, clerk, visit_id: int):
    visit = _visit(clerk, visit_id)
    step = request.POST.get("step")
    try:
        if step == "document":
            form = DocumentForm(request.POST)
            if not form.is_valid():
                raise ValidationError([str(m) for errors in form.errors.values() for m in errors])
            desk_identity_document(visit=visit, **form.cleaned_data)
        elif step == "send_code":
            desk_code_send(visit=visit)
            messages.info(request, _("A code was sent to the phone on record. Ask the person to read it out."))
            return redirect("desk:visit", visit_id=visit.pk)
        elif step == "check_code":
            desk_code_check(visit=visit, code=request.POST.get("code", ""))
        else:
            raise ValidationError(_("Choose how the person's identity was checked."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("desk:visit", visit_id=visit.pk)
    messages.success(request, _("Identity checked."))
    return redirect("desk:visit", visit_id=visit.pk)


@desk_view
@require_POST
def desk_withdraw_view(request, clerk, visit_id: int, consent_id: int):
    visit = _visit(clerk, visit_id, verified=True)
    try:
        desk_withdraw(visit=visit, consent_id=consent_id)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The consent is withdrawn. Deleting the facial data from the system has started."))
    return redirect("desk:visit", visit_id=visit.pk)


@desk_view
@require_POST
def desk_request_view(request, clerk, visit_id: int):
    visit = _visit(clerk, visit_id, verified=True)
    form = RequestForm(request.POST, systems=entity_systems(clerk))
    if form.is_valid():
        try:
            made = desk_request(visit=visit, **form.cleaned_data)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Request %(reference)s made: %(type)s.")
                % {"reference": made.reference, "type": field_label("dataops.Request.type", made.type)},
            )
    else:
        for message in (str(m) for errors in form.errors.values() for m in errors):
            messages.error(request, message)
    return redirect("desk:visit", visit_id=visit.pk)


@desk_view
@require_POST
def desk_receipt_view(request, clerk, visit_id: int):
    visit = _visit(clerk, visit_id, verified=True)
    if not visit.requests.exists():
        messages.error(request, _("Nothing was asked in this visit yet: there is no receipt to print."))
        return redirect("desk:visit", visit_id=visit.pk)
    response = HttpResponse(desk_receipt(visit=visit), content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="receipt.pdf"'
    return response


@desk_view
@require_POST
def desk_visit_end_view(request, clerk, visit_id: int):
    visit = _visit(clerk, visit_id)
    desk_visit_end(visit=visit)
    messages.success(request, _("Visit ended."))
    return redirect("desk:home")
