"""The regulator's area: filings submitted to its province, their documents and evidence. Nothing else."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from dataops.filings.pack import filing_bundle, filing_fingerprint_check, filing_pack
from dataops.filings.services import filing_acknowledge
from dataops.models import Filing, FilingAttachment, FilingDocument, RegulatorAccount
from facerights.audit import audit_anchor_holds

VISIBLE = (Filing.State.SUBMITTED, Filing.State.ACKNOWLEDGED)


def _account(request) -> RegulatorAccount:
    account = RegulatorAccount.objects.filter(user=request.user).first()
    if account is None:
        raise Http404
    return account


def _filing(request, number: str) -> tuple[RegulatorAccount, Filing]:
    account = _account(request)
    return account, get_object_or_404(Filing, number=number, province=account.province, state__in=VISIBLE)


@never_cache
@login_required
def regulator_home(request):
    account = _account(request)
    filings = (
        Filing.objects.filter(province=account.province, state__in=VISIBLE)
        .select_related("entity")
        .order_by("-submitted_at")
    )
    return render(request, "portal/regulator/home.html", {"account": account, "filings": filings})


@never_cache
@login_required
def regulator_filing(request, number: str):
    account, filing = _filing(request, number)
    result = None
    if request.method == "POST" and "fingerprint" in request.POST:
        typed = request.POST["fingerprint"].strip().lower()[:200]
        result = {"typed": typed, **filing_fingerprint_check(filing, typed), "anchor": audit_anchor_holds(typed)}
    return render(
        request,
        "portal/regulator/filing.html",
        {
            "account": account,
            "filing": filing,
            "documents": filing.documents.order_by("kind", "language"),
            "attachments": filing.attachments.order_by("kind", "pk"),
            "result": result,
        },
    )


@never_cache
@login_required
def regulator_document(request, number: str, kind: str, language: str):
    _account_, filing = _filing(request, number)
    document = get_object_or_404(FilingDocument, filing=filing, kind=kind, language=language)
    response = HttpResponse(bytes(document.pdf), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filing.number}-{kind}-{language}.pdf"'
    return response


@never_cache
@login_required
def regulator_evidence(request, number: str):
    _account_, filing = _filing(request, number)
    response = HttpResponse(
        json.dumps(filing_bundle(filing), ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{filing.number}-evidence.json"'
    return response


@require_POST
@login_required
def regulator_acknowledge(request, number: str):
    account, filing = _filing(request, number)
    filing_acknowledge(actor=f"regulator:{request.user.pk}", filing=filing, authority=account.authority_name)
    messages.success(request, _("Receipt acknowledged; the handler sees it."))
    return redirect("portal:regulator_filing", number=filing.number)


@never_cache
@login_required
def regulator_pack(request, number: str):
    """The pack as the handler uploaded it to the CAC's system: the same bytes at every download."""
    _account_, filing = _filing(request, number)
    response = HttpResponse(filing_pack(filing), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filing.number}-v{filing.version}.zip"'
    return response


@never_cache
@login_required
def regulator_attachment(request, number: str, attachment_id: int):
    """One scanned attachment, as uploaded (its SHA-256 is printed in the filing form)."""
    _account_, filing = _filing(request, number)
    attachment = get_object_or_404(FilingAttachment, pk=attachment_id, filing=filing)
    response = HttpResponse(bytes(attachment.content), content_type=attachment.content_type)
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}.get(attachment.content_type, "bin")
    response["Content-Disposition"] = (
        f'attachment; filename="{filing.number}-{attachment.kind}-{attachment.pk}.{extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
