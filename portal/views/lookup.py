"""Following a request with the slip from the desk: its reference and lookup code, no account.

The answer is the request's status and outcome, and for a deletion the systems' progress
and its certificate: never anyone's personal data. Every try counts against the address
and against the reference, so guessing stops long before a code's 49 bits give way.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from dataops.deletions.certificates import certificate_pdf
from dataops.deletions.models import DeletionRequest
from dataops.requests.lookup import normalize_code, request_lookup_find
from dataops.requests.models import Request
from facerights import ratelimit
from facerights.present import date_text, due_text, field_label, moment_text

from ..forms import LookupForm

TRIES_PER_ADDRESS = 30  # an hour
TRIES_PER_REFERENCE = 10  # an hour, from anywhere


def _status(found: Request) -> dict:
    deletion = found.deletion_requests.order_by("-created_at").first()
    chinese = (get_language() or "").startswith("zh")
    return {
        "reference": found.reference,
        "type": field_label("dataops.Request.type", found.type),
        "state": found.state,
        "state_label": found.get_state_display(),
        "received": moment_text(found.received_at),
        "due": due_text(found.due),
        "closed": date_text(timezone.localdate(found.closed_at)) if found.closed_at else "",
        "refusal": field_label("dataops.Request.refusal_reason_code", found.refusal_reason_code)
        if found.refusal_reason_code
        else "",
        "deletion": deletion,
        "systems": [
            {
                "name": p.system.name_zh if chinese else (p.system.name_en or p.system.name_zh),
                "state": p.get_state_display(),
                "deadline": date_text(p.deadline),
                "confirmed": moment_text(p.confirmed_at),
            }
            for p in deletion.propagations.select_related("system").order_by("system__name_zh", "pk")
        ]
        if deletion
        else [],
        "certificate": deletion is not None and deletion.state == DeletionRequest.State.COMPLETED,
    }


@never_cache
def lookup(request):
    form = LookupForm(request.POST or None)
    status, code = None, 200
    if request.method == "POST" and form.is_valid():
        reference = normalize_code(form.cleaned_data["reference"])
        by_address = ratelimit.allow(
            "lookup-address", ratelimit.client_address(request), limit=TRIES_PER_ADDRESS, window_seconds=3600
        )
        by_reference = ratelimit.allow("lookup-reference", reference, limit=TRIES_PER_REFERENCE, window_seconds=3600)
        if not (by_address and by_reference):
            form.add_error(None, _("Too many tries. Wait an hour and try again, or ask at the desk."))
            code = 429
        else:
            found = request_lookup_find(reference, form.cleaned_data["code"])
            if found is None:
                form.add_error(None, _("This reference and code do not match a request. Check the slip and try again."))
            else:
                status = _status(found)
                if "certificate" in request.POST and status["certificate"]:
                    deletion = status["deletion"]
                    response = HttpResponse(
                        certificate_pdf(deletion, language=request.LANGUAGE_CODE), content_type="application/pdf"
                    )
                    response["Content-Disposition"] = (
                        f'attachment; filename="deletion-certificate-{deletion.reference}.pdf"'
                    )
                    return response
    return render(request, "portal/lookup.html", {"form": form, "status": status}, status=code)
