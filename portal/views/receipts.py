"""A consent's receipt (consent/receipts.py), as JSON or PDF: to the signed-in person, or at capture by the page's address.

Both carry the same receipt; the language is the page's. The file name carries the receipt's
number, never the person's.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache

from consent.models import ConsentRecord
from consent.receipts import consent_receipt, receipt_json, receipt_pdf
from consent.sessions import consent_session_for_page

from ..acting import consent_in_reach


def _download(request, record: ConsentRecord, extension: str) -> HttpResponse:
    if extension not in ("json", "pdf"):
        raise Http404
    receipt = consent_receipt(record, language=request.LANGUAGE_CODE)
    if extension == "json":
        response = HttpResponse(receipt_json(receipt), content_type="application/json; charset=utf-8")
    else:
        response = HttpResponse(receipt_pdf(receipt), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt["receipt_id"]}.{extension}"'
    response["X-Receipt-Fingerprint"] = receipt["proof"]["sha256"]
    return response


@never_cache
@login_required
def consent_receipt_download(request, consent_id: int, extension: str):
    return _download(request, consent_in_reach(request, consent_id), extension)


@never_cache
def consent_session_receipt(request, token: str, extension: str):
    """The receipt of the consent given on a capture page: its address is the key, as for the page itself."""
    session = consent_session_for_page(token)
    if session is None or session.record is None:
        raise Http404
    return _download(request, session.record, extension)
