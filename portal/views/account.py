"""A signed-in person's own pages: linking, consents, requests and copies."""

from __future__ import annotations

from typing import cast

from allauth.account.models import EmailAddress
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent.linking import LinkError, identity_check_submit, subject_link_by_code, subject_link_by_verified
from consent.models import ConsentRecord, Purpose
from consent.services import (
    ConsentError,
    consent_prompt_allowed,
    consent_refuse,
    notice_current,
    subject_name,
)
from consent.written import written_consent_body
from dataops.copies.services import ExportUnavailable, export_download, export_request
from dataops.deletions.intake import consents_withdraw_all as withdraw_all_service
from dataops.deletions.intake import rights_request_submit
from dataops.incidents.notices import notices_for
from dataops.models import DataExport, ProcessingSystem, Request
from dataops.registry.holdings import consent_give as consent_give_service
from dataops.requests.services import request_details
from facerights import ratelimit
from facerights.accounts import user_phone_get

from ..acting import acting_subject, own_subject, subjects_in_reach
from ..auth import fresh_sign_in_gate, fresh_sign_in_required
from ..forms import ConsentForm, EnrolmentCodeForm, IdentityCheckForm, RequestForm
from ..provenance import request_provenance


def _actor(request) -> str:
    return f"user:{request.user.pk}"


# --- Linking -------------------------------------------------------------------------------


def _verified_identifiers(user) -> list[tuple[str, str]]:
    identifiers = [("email", e.email) for e in EmailAddress.objects.filter(user=user, verified=True)]
    phone = user_phone_get(user)
    if phone and phone[1]:
        identifiers.append(("phone", phone[0]))
    return identifiers


@never_cache
@login_required
def link(request):
    """Link this account to the records the company holds, through something verified."""
    if own_subject(request) is not None:
        return redirect("portal:dashboard")
    code_form = EnrolmentCodeForm(request.POST if request.POST.get("action") == "code" else None)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "verified":
                if subject_link_by_verified(
                    actor=_actor(request), user=request.user, identifiers=_verified_identifiers(request.user)
                ):
                    messages.success(request, _("Your account is linked to your records."))
                    return redirect("portal:dashboard")
                messages.info(
                    request,
                    _(
                        "No records match the phone numbers and email addresses verified in this account. Try an enrolment code."
                    ),
                )
            elif code_form.is_valid():
                if not _enrolment_code_attempt_allowed(request):
                    return render(
                        request,
                        "portal/link.html",
                        {"code_form": code_form, "identity_form": IdentityCheckForm(), "limited": True},
                        status=429,
                    )
                subject_link_by_code(actor=_actor(request), user=request.user, code=code_form.cleaned_data["code"])
                messages.success(request, _("Your account is linked to your records."))
                return redirect("portal:dashboard")
        except LinkError as exc:
            code_form.add_error(None, exc.messages[0])
    return render(request, "portal/link.html", {"code_form": code_form, "identity_form": IdentityCheckForm()})


# Enrolment codes tried, like sign-in codes: per account and per address, each in ten minutes.
CODE_TRIES_PER_ACCOUNT = 5
CODE_TRIES_PER_ADDRESS = 20


def _enrolment_code_attempt_allowed(request) -> bool:
    by_account = ratelimit.allow(
        "enrolment-code", f"user:{request.user.pk}", limit=CODE_TRIES_PER_ACCOUNT, window_seconds=600
    )
    by_address = ratelimit.allow(
        "enrolment-code-ip", ratelimit.client_address(request), limit=CODE_TRIES_PER_ADDRESS, window_seconds=600
    )
    return by_account and by_address


@login_required
def identity_check(request):
    form = IdentityCheckForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        scan = form.cleaned_data["scan"]
        identity_check_submit(
            actor=_actor(request),
            user=request.user,
            scan=form.cleaned_data["scan_bytes"],
            content_type=form.cleaned_data["scan_type"],
            note=form.cleaned_data["note"],
        )
        del scan
        messages.success(
            request,
            _(
                "Your document is with the data-protection officer. It is destroyed once checked; you will be told the result."
            ),
        )
        return redirect("portal:link")
    return render(
        request,
        "portal/link.html",
        {"code_form": EnrolmentCodeForm(), "identity_form": form},
        status=400 if form.errors else 200,
    )


# --- Consents ------------------------------------------------------------------------------


@never_cache
@login_required
def consent_history(request, ward_uuid=None):
    subject = acting_subject(request, ward_uuid)
    records = (
        ConsentRecord.objects.filter(subject=subject)
        .select_related("system", "purpose", "notice", "signed_record")
        .prefetch_related("events")
        .order_by("-given_at")
    )
    return render(
        request, "portal/consent_history.html", {"subject": subject, "records": records, "ward_uuid": ward_uuid}
    )


@never_cache
@login_required
def consent_give(request, system_id: int, purpose_code: str, ward_uuid=None):
    """Consent on its own screen: the notice, one unticked box, and a way to say no (R3, R8)."""
    subject = acting_subject(request, ward_uuid)
    system = get_object_or_404(ProcessingSystem, pk=system_id, status=ProcessingSystem.Status.ACTIVE)
    purpose = get_object_or_404(Purpose, code=purpose_code, systems=system)
    notice = notice_current(system)
    if notice is None:
        raise Http404
    if request.method == "GET" and not consent_prompt_allowed(subject=subject, system=system, purpose=purpose):
        return render(request, "portal/consent_quiet.html", {"system": system})
    written_text = (
        written_consent_body(
            system=system, purpose=purpose, notice=notice, language=request.LANGUAGE_CODE, for_child=bool(ward_uuid)
        )
        if system.requires_written_consent
        else None
    )
    form = ConsentForm(
        request.POST or None,
        ask_date_of_birth=subject.date_of_birth is None,
        for_child=bool(ward_uuid),
        written_text=written_text,
    )
    if request.method == "POST":
        if "refuse" in request.POST:
            consent_refuse(actor=_actor(request), subject=subject, system=system, purpose=purpose)
            messages.info(request, _("Noted: you will not be asked again for at least 48 hours. Nothing else changes."))
            return redirect("portal:dashboard")
        if form.is_valid():
            guardian = own_subject(request) if ward_uuid else None
            try:
                consent_give_service(
                    actor=_actor(request),
                    subject=subject,
                    system=system,
                    purpose=purpose,
                    notice=notice,
                    provenance=request_provenance(request),
                    guardian=guardian,
                    date_of_birth=form.cleaned_data.get("date_of_birth"),
                    signature=form.signature(request.LANGUAGE_CODE),
                )
                messages.success(request, _("Your consent is recorded. You can withdraw it here at any time."))
                return redirect("portal:consent_history")
            except ConsentError as exc:
                form.add_error(None, exc.messages[0])
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    text = cast("dict[str, dict[str, str]]", notice.snapshot)[lang]  # a current notice is published: its text is frozen
    return render(
        request,
        "portal/consent_give.html",
        {
            "system": system,
            "purpose": purpose,
            "notice": notice,
            "text": text,
            "form": form,
            "written_text": written_text,
        },
    )


@never_cache
@login_required
def consents_withdraw_all(request, ward_uuid=None):
    subject = acting_subject(request, ward_uuid)
    if request.method == "POST":
        deletion = withdraw_all_service(actor=_actor(request), subject=subject, provenance=request_provenance(request))
        messages.success(request, _("Every consent is withdrawn. Deleting the facial data everywhere has started."))
        if deletion:
            return redirect("portal:deletion_status", reference=deletion.reference)
        return _back_to_dashboard(ward_uuid)
    return render(request, "portal/consents_withdraw_all.html", _ward_context(subject, ward_uuid))


def _back_to_dashboard(ward_uuid):
    return redirect("portal:ward_dashboard", ward_uuid=ward_uuid) if ward_uuid else redirect("portal:dashboard")


def _ward_context(subject, ward_uuid) -> dict:
    """What a page needs to say whose records it acts on: the child's name when a guardian acts for them."""
    return {"ward_uuid": ward_uuid, "ward_name": subject_name(subject) if ward_uuid else ""}


# --- Requests ------------------------------------------------------------------------------


@never_cache
@login_required
def requests_list(request, ward_uuid=None):
    subject = acting_subject(request, ward_uuid)
    return render(
        request,
        "portal/requests.html",
        {"requests": subject.requests.order_by("-received_at"), **_ward_context(subject, ward_uuid)},
    )


@never_cache
@login_required
def request_new(request, ward_uuid=None):
    subject = acting_subject(request, ward_uuid)
    own = own_subject(request)
    told = notices_for(own) if own is not None else []
    form = RequestForm(request.POST or None, subject=subject, incident_notices=told)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = rights_request_submit(
            actor=_actor(request),
            subject=subject,
            type=data["type"],
            system=data.get("system"),
            details=data.get("details", ""),
            incident=data.get("incident"),
        )
        messages.success(request, _("Request %(ref)s received.") % {"ref": created.reference})
        return redirect("portal:request_detail", reference=created.reference)
    return render(
        request,
        "portal/request_new.html",
        {"form": form, **_ward_context(subject, ward_uuid)},
        status=400 if form.errors else 200,
    )


@never_cache
@login_required
def request_detail(request, reference: str):
    """A request of the person's own, or of a child they are the verified guardian of."""
    item = get_object_or_404(Request, reference=reference, subject__in=subjects_in_reach(request))
    return render(request, "portal/request_detail.html", {"item": item, "details": request_details(item)})


# --- A copy of my data ---------------------------------------------------------------------------


@require_POST
@login_required
@fresh_sign_in_required
def copy_request(request, ward_uuid=None):
    subject = acting_subject(request, ward_uuid)
    export = export_request(actor=_actor(request), user=request.user, subject=subject, language=request.LANGUAGE_CODE)
    return redirect("portal:copy_status", export_id=export.pk)


def _own_export(request, export_id: int) -> DataExport:
    return get_object_or_404(DataExport, pk=export_id, requested_by=request.user)


@never_cache
@login_required
def copy_status(request, export_id: int):
    export = _own_export(request, export_id)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse(
            {"state": export.state, "state_label": export.get_state_display(), "progress": export.progress}
        )
    return render(request, "portal/copy_status.html", {"export": export})


@never_cache
@login_required
def copy_download(request, export_id: int):
    export = _own_export(request, export_id)  # someone else's or unknown: 404, before anything else
    if (gate := fresh_sign_in_gate(request)) is not None:
        return gate
    try:
        content = export_download(export=export, user=request.user)
    except ExportUnavailable:
        raise Http404 from None
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = 'attachment; filename="facerights-my-data.zip"'
    return response
