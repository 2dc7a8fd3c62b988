"""A deceased person's close relative (PIPL Art 49): prove the relationship, then act for them.

The proof goes to the data-protection officer, who finds the deceased person's record and
approves (or refuses, with the reason, where the deceased arranged otherwise). Then the
relative's requests are filed under the deceased person's record, made by the relative.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from consent.linking import deceased_claim_submit
from consent.services import subject_name
from dataops.copies.services import export_request
from dataops.deletions.intake import rights_request_submit
from dataops.requests.models import Request

from ..acting import deceased_subject, own_subject
from ..forms import DeceasedClaimForm, DeceasedRequestForm


def _actor(request) -> str:
    return f"user:{request.user.pk}"


@never_cache
@login_required
def deceased_claims(request):
    own = own_subject(request)
    if own is None:
        raise Http404  # a relative acts from their own records: "Find my records" first
    form = DeceasedClaimForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        deceased_claim_submit(
            actor=_actor(request),
            relative=own,
            relationship=form.cleaned_data["relationship"],
            proof=form.cleaned_data["proof_bytes"],
            content_type=form.cleaned_data["proof_type"],
            note=form.cleaned_data["note"],
        )
        messages.success(
            request,
            _(
                "Your proof is with the data-protection officer. It is destroyed once reviewed; you will see the result here."
            ),
        )
        return redirect("portal:deceased_claims")
    claims = [
        {"claim": claim, "name": subject_name(claim.deceased) if claim.deceased else ""}
        for claim in own.representations.select_related("deceased").order_by("-created_at")
    ]
    return render(request, "portal/deceased_claims.html", {"form": form, "claims": claims})


@never_cache
@login_required
def deceased_request(request, deceased_uuid):
    deceased = deceased_subject(request, deceased_uuid)
    own = own_subject(request)
    form = DeceasedRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kind = form.cleaned_data["type"]
        if kind == "copy":
            export = export_request(
                actor=_actor(request), user=request.user, subject=deceased, language=request.LANGUAGE_CODE
            )
            return redirect("portal:copy_status", export_id=export.pk)
        made = rights_request_submit(
            actor=_actor(request),
            subject=deceased,
            type=kind,
            details=form.cleaned_data["details"],
            acted_by=Request.ActedBy.RELATIVE,
            acting_subject=own,
        )
        messages.success(request, _("Request %(ref)s received.") % {"ref": made.reference})
        return redirect("portal:request_detail", reference=made.reference)
    return render(request, "portal/deceased_request.html", {"form": form, "name": subject_name(deceased)})
