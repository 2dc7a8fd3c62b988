import csv
import io
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent.services import notice_current
from dataops.deletions.blocked import REASONS, blocked_reason
from dataops.deletions.certificates import certificate_data, certificate_pdf, fingerprint
from dataops.deletions.delivery.manual import (
    LinkError,
    confirm_by_link,
    confirm_digest,
    digest_for_link,
    digest_open,
    propagation_for_link,
)
from dataops.deletions.intake import consent_withdrawal_submit
from dataops.deletions.propagations import PropagationError, certificate_required
from dataops.desk.selectors import desk_sites_by_entity
from dataops.models import DeletionRequest
from dataops.registry.selectors import entities_with_public_systems, systems_public
from facerights.present import date_text, moment_text

from ..acting import consent_in_reach, subjects_in_reach
from ..forms import VendorConfirmationForm, VendorDigestForm
from ..provenance import request_provenance
from ..templatetags.portal_tags import loc


def home(request):
    return render(request, "portal/home.html", {"entities": entities_with_public_systems()})


def processing_rules(request, system_id: int):
    system = systems_public().filter(pk=system_id).first()
    notice = notice_current(system) if system else None
    if system is None or notice is None:
        raise Http404
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    text = cast("dict[str, dict[str, str]]", notice.snapshot)[lang]  # a current notice is published: its text is frozen
    desks = desk_sites_by_entity().get(system.entity_id, [])
    return render(
        request,
        "portal/processing_rules.html",
        {"system": system, "notice": notice, "text": text, "entity": system.entity, "desks": desks},
    )


@never_cache
@login_required
def consent_notice(request, consent_id: int):
    """The notice exactly as the person consented to it, whatever became of the system or its notice since."""
    record = consent_in_reach(request, consent_id)
    notice = record.notice
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    text = cast("dict[str, dict[str, str]]", notice.snapshot or {}).get(lang) or {}
    return render(
        request,
        "portal/processing_rules.html",
        {
            "system": record.system,
            "notice": notice,
            "text": text,
            "entity": record.system.entity,
            "desks": desk_sites_by_entity().get(record.system.entity_id, []),
            "consented": record,
        },
    )


@never_cache
@login_required
def consent_withdraw_confirm(request, consent_id: int):
    """The one confirmation before a withdrawal: no reason asked, nothing else to fill in (R6)."""
    record = consent_in_reach(request, consent_id)
    return render(request, "portal/consent_withdraw.html", {"record": record})


@require_POST
@login_required
def consent_withdraw(request, consent_id: int):
    record = consent_in_reach(request, consent_id)
    deletion = consent_withdrawal_submit(
        actor=f"user:{request.user.pk}", record=record, provenance=request_provenance(request)
    )
    messages.success(request, _("The consent is withdrawn. Deleting the facial data from the system has started."))
    if deletion is None:
        return redirect("portal:dashboard")
    return redirect("portal:deletion_status", reference=deletion.reference)


def _own_deletion(request, reference: str) -> DeletionRequest:
    return get_object_or_404(DeletionRequest, reference=reference, subject__in=subjects_in_reach(request))


def _not_received(propagation) -> str:
    """Why the system has not received the instruction yet, in words, when it cannot now."""
    if propagation.state != propagation.State.PENDING or propagation.sent_at is not None:
        return ""
    reason = blocked_reason(propagation.system)
    if reason is None:
        return ""
    return _(
        "This system has not received the instruction yet: %(reason)s. The data-protection officer has been told."
    ) % {"reason": REASONS[reason]}


def _waiting_text(propagation) -> str:
    """Every wait in plain words: who has not done what, and by when it must be done."""
    if propagation.is_terminal:
        return ""
    blocked = _not_received(propagation)
    if blocked:
        return blocked
    where = loc(propagation.system.site, "name") if propagation.system.site else loc(propagation.system, "name")
    if propagation.state == propagation.State.PENDING:
        return _(
            "The instruction is being sent to the system at %(where)s; the company must confirm by %(deadline)s."
        ) % {
            "where": where,
            "deadline": date_text(propagation.deadline),
        }
    return _("The system at %(where)s has not answered yet; the company must confirm by %(deadline)s.") % {
        "where": where,
        "deadline": date_text(propagation.deadline),
    }


# A restriction's outcomes in the person's words (a deletion's are the states' own labels).
RESTRICTION_OUTCOMES: dict[tuple[str, str], object] = {
    (DeletionRequest.Action.RESTRICT, "applied"): gettext_lazy("restricted: kept, and no one is processed with it"),
    (DeletionRequest.Action.LIFT_RESTRICTION, "applied"): gettext_lazy("restriction lifted"),
    (DeletionRequest.Action.RESTRICT, "not_found"): gettext_lazy("not found: the system held nothing under your key"),
    (DeletionRequest.Action.LIFT_RESTRICTION, "not_found"): gettext_lazy(
        "not found: the system held nothing under your key"
    ),
}


def _status(deletion: DeletionRequest) -> dict:
    rows = deletion.propagations.select_related("system__site").order_by("system__name_zh", "pk")
    chinese = translation_is_chinese()
    return {
        "reference": deletion.reference,
        "action": deletion.action,
        "state": deletion.state,
        "state_label": deletion.get_state_display(),
        # A deletion certificate proves a deletion: a restriction has none.
        "completed": deletion.state == DeletionRequest.State.COMPLETED
        and deletion.action == DeletionRequest.Action.DELETE,
        "systems": [
            {
                "system": (p.system.name_zh if chinese else (p.system.name_en or p.system.name_zh)),
                "state": p.state,
                "state_label": str(RESTRICTION_OUTCOMES.get((deletion.action, p.state), p.get_state_display())),
                "overdue": p.escalated_at is not None and not p.is_terminal,
                "waiting": _waiting_text(p),
                "deadline": date_text(p.deadline),
                "confirmed_at": moment_text(p.confirmed_at),
            }
            for p in rows
        ],
    }


def translation_is_chinese() -> bool:
    return (get_language() or "").startswith("zh")


@never_cache
@login_required
def deletion_status(request, reference: str):
    deletion = _own_deletion(request, reference)
    return render(request, "portal/deletion_status.html", {"deletion": deletion, "status": _status(deletion)})


@never_cache
@login_required
def deletion_status_json(request, reference: str):
    return JsonResponse(_status(_own_deletion(request, reference)))


@never_cache
@login_required
def deletion_certificate(request, reference: str):
    deletion = _own_deletion(request, reference)
    if deletion.state != DeletionRequest.State.COMPLETED or deletion.action != DeletionRequest.Action.DELETE:
        raise Http404
    pdf = certificate_pdf(deletion, language=request.LANGUAGE_CODE)
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="deletion-certificate-{deletion.reference}.pdf"'
    response["X-Certificate-Fingerprint"] = fingerprint(certificate_data(deletion))
    return response


@never_cache
def _link_error(request, exc: LinkError):
    """A vendor's link that is invalid, expired or used: gone, with the reason."""
    return render(request, "portal/vendor_link_error.html", {"error": str(exc)}, status=410)


def vendor_confirm(request, token: str):
    """A vendor without an API confirms one deletion through the signed, single-use link it was emailed."""
    try:
        propagation, _nonce = propagation_for_link(token)
    except LinkError as exc:
        return _link_error(request, exc)
    contract_ended = certificate_required(propagation)  # the contract, or face recognition, has ended
    action = propagation.deletion_request.action
    form = VendorConfirmationForm(
        request.POST if request.method == "POST" else None,
        request.FILES or None,
        contract_ended=contract_ended,
        action=action,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            confirm_by_link(
                token=token,
                outcome=data["outcome"],
                reason=data.get("reason", ""),
                performed_by=data["performed_by"],
                performed_at=data["performed_at"],
                certificate=data.get("certificate"),
            )
        except LinkError as exc:
            return _link_error(request, exc)
        except PropagationError as exc:  # nothing was written and the link still works
            form.add_error(None, exc.messages[0])
        else:
            return render(request, "portal/vendor_confirmed.html", {"propagation": propagation})
    return render(
        request,
        "portal/vendor_confirm.html",
        {"form": form, "propagation": propagation, "contract_ended": contract_ended, "action": action},
    )


def vendor_digest(request, token: str):
    """A vendor without an API confirms many deletions at once through the single-use link of its digest."""
    try:
        digest, _nonce = digest_for_link(token)
    except LinkError as exc:
        return _link_error(request, exc)
    waiting = digest_open(digest)
    count = waiting.count()
    needs_certificate = any(certificate_required(p) for p in waiting[:1000])
    form = VendorDigestForm(request.POST or None, request.FILES or None, count=count, certificate=needs_certificate)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            confirmed = confirm_digest(
                token=token,
                outcome=data["outcome"],
                not_found_keys=data["not_found_keys"],
                performed_by=data["performed_by"],
                performed_at=data["performed_at"],
                certificate=data["certificate"],
            )
        except LinkError as exc:
            return _link_error(request, exc)
        except PropagationError as exc:  # nothing was written and the link still works
            form.add_error(None, exc.messages[0])
        else:
            return render(request, "portal/vendor_confirmed.html", {"confirmed": confirmed})
    return render(
        request,
        "portal/vendor_digest.html",
        {
            "form": form,
            "digest": digest,
            "count": count,
            "first": waiting.order_by("deadline", "pk")[:50],
            "needs_certificate": needs_certificate,
            "token": token,
        },
    )


def vendor_digest_keys(request, token: str):
    """The keys of every instruction waiting in a digest, as CSV (the link is checked, not consumed)."""
    try:
        digest, _nonce = digest_for_link(token)
    except LinkError as exc:
        return _link_error(request, exc)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["reference", "key", "deadline"])
    for p in digest_open(digest).order_by("deadline", "pk").iterator(2000):
        writer.writerow([p.deletion_request.reference, p.subject_key, p.deadline.isoformat()])
    response = HttpResponse(buffer.getvalue().encode("utf-8-sig"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="deletions-{digest.pk}.csv"'
    return response
