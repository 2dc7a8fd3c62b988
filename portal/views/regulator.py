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

from dataops.filings.pack import filing_bundle
from dataops.filings.services import filing_acknowledge
from dataops.models import Filing, FilingDocument, RegulatorAccount
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
        matches = [d for d in filing.documents.all() if d.sha256 == typed]
        result = {
            "typed": typed,
            "snapshot": typed == filing.snapshot_sha256,
            "documents": matches,
            "anchor": audit_anchor_holds(typed),
        }
    return render(
        request,
        "portal/regulator/filing.html",
        {
            "account": account,
            "filing": filing,
            "documents": filing.documents.order_by("kind", "language"),
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
