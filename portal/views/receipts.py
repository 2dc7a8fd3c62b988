"""A consent's receipt (consent/receipts.py) and its link (consent/receipt_links.py).

The receipt, as JSON or PDF, goes to the signed-in person, to whoever holds the page address a
consent was given on at a device, and to whoever holds the receipt's link. The link's page also
withdraws the consent, but only with the one-time code texted to the phone given for it. File
names carry the receipt's number, never the person's.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent.models import ConsentRecord
from consent.receipt_links import (
    receipt_code_check,
    receipt_code_send,
    receipt_link_record,
    receipt_phone_masked,
    receipt_send,
)
from consent.receipts import consent_receipt, receipt_id, receipt_json, receipt_pdf
from consent.sessions import consent_session_for_page, consent_session_recent
from consent.written import signed_consent_text
from dataops.deletions.intake import consent_withdrawal_submit
from facerights import ratelimit

from ..acting import consent_in_reach
from ..forms import ReceiptPhoneForm, WithdrawCodeForm
from ..provenance import request_provenance

SENDS_PER_ADDRESS = 30  # an hour: receipts texted from one network (a lobby's Wi-Fi serves many guests)
CODES_PER_CONSENT = 5  # an hour: withdrawal codes texted for one consent
TRIES_PER_ADDRESS = 30  # an hour: codes typed on receipt links from one network
SIGNED = "signed"  # the `extension` the signed-record routes pass (portal/urls.py)


def _download(request, record: ConsentRecord, extension: str, *, with_name: bool = True) -> HttpResponse:
    """The receipt as JSON or PDF; or, as `signed`, a written consent's signed record byte for byte (R4).

    The signed record names the signer: without `with_name` it is neither given nor printed in the PDF.
    """
    if extension == SIGNED:
        if not with_name:
            raise Http404
        return _signed_record(record)
    if extension not in ("json", "pdf"):
        raise Http404
    receipt = consent_receipt(record, language=request.LANGUAGE_CODE)
    if extension == "json":
        response = HttpResponse(receipt_json(receipt), content_type="application/json; charset=utf-8")
    else:
        signed_text = signed_consent_text(record) if with_name else None
        response = HttpResponse(receipt_pdf(receipt, signed_text=signed_text), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{receipt["receipt_id"]}.{extension}"'
    response["X-Receipt-Fingerprint"] = receipt["proof"]["sha256"]
    return response


def _signed_record(record: ConsentRecord) -> HttpResponse:
    text = signed_consent_text(record)
    if text is None:  # no written consent, or the person's key is destroyed: the fingerprint alone remains
        raise Http404
    response = HttpResponse(text.encode(), content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="signed-consent-{receipt_id(record)}.txt"'
    response["X-Signed-Record-SHA256"] = record.artifact_sha256
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
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:  # in the language the page was read in
        request.LANGUAGE_CODE = session.language
    # The signer's typed name only while they are still there (half an hour): the next guest at a desk
    # tablet must not find it in the browser's history. Afterwards the receipt link and the portal give it.
    return _download(request, session.record, extension, with_name=consent_session_recent(session))


@require_POST
def consent_session_receipt_send(request, token: str):
    """Text the receipt's link to the number the person gives, under the consent they just gave."""
    session = consent_session_for_page(token)
    if session is None or session.record is None:
        raise Http404
    form = ReceiptPhoneForm(request.POST)
    if not consent_session_recent(session):
        messages.error(request, _("This page no longer sends receipts: download it here instead."))
    elif not ratelimit.allow(
        "receipt-send", ratelimit.client_address(request), limit=SENDS_PER_ADDRESS, window_seconds=3600
    ):
        messages.error(request, _("Too many receipts sent from this network in the last hour: download it instead."))
    elif not form.is_valid():
        messages.error(request, str(form.errors["phone"][0]))
    else:
        try:
            receipt_send(
                actor=f"consent_session:{session.public_id}", record=session.record, phone=form.cleaned_data["phone"]
            )
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("Sent. The message has your receipt's link, which is also how to withdraw."))
    return redirect("portal:consent_session", token=token)


@never_cache
def receipt_link(request, token: str):
    """The receipt's link: the consent as it stands, its receipt, and withdrawal by a code to the phone given."""
    record = receipt_link_record(token)
    if record is None:
        raise Http404
    code_form = WithdrawCodeForm(request.POST if request.POST.get("action") == "withdraw" else None)
    masked = receipt_phone_masked(record)
    code_sent = False
    if request.method == "POST" and record.state in (ConsentRecord.State.ACTIVE, ConsentRecord.State.NEEDS_RECONSENT):
        if request.POST.get("action") == "send_code":
            if not ratelimit.allow("receipt-code", str(record.pk), limit=CODES_PER_CONSENT, window_seconds=3600):
                messages.error(request, _("Too many codes for this consent in the last hour: try again later."))
            else:
                try:
                    masked = receipt_code_send(record=record)
                    code_sent = True
                except ValidationError as exc:
                    messages.error(request, exc.messages[0])
        elif code_form.is_valid():
            code_sent = True
            if not ratelimit.allow(
                "receipt-try", ratelimit.client_address(request), limit=TRIES_PER_ADDRESS, window_seconds=3600
            ):
                code_form.add_error(None, _("Too many tries from this network in the last hour: try again later."))
            else:
                try:
                    receipt_code_check(record=record, code=code_form.cleaned_data["code"])
                except ValidationError as exc:
                    code_form.add_error("code", exc.messages[0])
                else:
                    consent_withdrawal_submit(
                        actor=f"receipt:{record.pk}",
                        record=record,
                        provenance=request_provenance(request, ConsentRecord.Channel.PORTAL),
                    )
                    messages.success(
                        request, _("The consent is withdrawn. Deleting your facial information has started.")
                    )
                    return redirect("portal:receipt_link", token=token)
    return render(
        request,
        "portal/receipt_link.html",
        {"record": record, "token": token, "phone": masked, "code_sent": code_sent, "code_form": code_form},
    )


@never_cache
def receipt_link_download(request, token: str, extension: str):
    record = receipt_link_record(token)
    if record is None:
        raise Http404
    return _download(request, record, extension)
