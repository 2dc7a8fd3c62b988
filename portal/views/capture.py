"""Consent where the face is captured: the page a device's QR code (or a desk tablet) opens (consent/sessions.py).

No account and no sign-in: the address's random token is the key, and it expires within minutes.
"""

from typing import cast

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from consent.models import ConsentRecord
from consent.services import ConsentError
from consent.sessions import (
    consent_session_answer,
    consent_session_for_page,
    consent_session_guardian_code_send,
    consent_session_guardian_confirm,
    consent_session_notice,
    consent_session_recent,
)
from consent.written import written_consent_body
from dataops.registry.models import Alternative
from facerights import ratelimit

from ..forms import ConsentAnswerForm, GuardianConfirmForm, GuardianPhoneForm, ReceiptPhoneForm
from ..provenance import request_provenance
from ..templatetags.portal_tags import loc

GUARDIAN_CODES = 5  # an hour, for one page: a guardian mistyping their number, not a way to text anyone
ANSWERS_PER_ADDRESS = 3000  # an hour: a lobby tablet, or a hotel Wi-Fi behind one address, answers for many people


@never_cache
def consent_session_page(request, token: str):
    session = consent_session_for_page(token)
    if session is None:
        return render(request, "portal/consent_session_gone.html", status=410)
    _device_language(request, session)
    system = session.system
    if session.state != session.State.OPEN:
        return _done(request, session, token)
    notice = consent_session_notice(session)  # read with the session; its text from the cache of published ones
    if notice is None:  # withdrawn since the session opened: nobody is asked to consent to what they cannot read
        return render(request, "portal/consent_session_gone.html", status=410)
    written_text = _written_text(request, session, notice)
    form = ConsentAnswerForm(
        request.POST if request.method == "POST" else None,
        initial={"notice_version": notice.version},
        alternatives=_alternatives(system),
        purpose=loc(session.purpose, "name"),
        written_text=written_text,
        transmits=system.internet_transmission,
    )
    if request.method == "POST" and form.is_valid():
        if not ratelimit.allow(
            "capture-address", ratelimit.client_address(request), limit=ANSWERS_PER_ADDRESS, window_seconds=3600
        ):
            form.add_error(None, _("Too many answers from this network in the last hour: please ask the staff."))
        else:
            try:
                consent_session_answer(
                    session=session,
                    answer=form.cleaned_data["answer"],
                    date_of_birth=form.cleaned_data["date_of_birth"],
                    notice_version=form.cleaned_data["notice_version"],
                    provenance=request_provenance(request, ConsentRecord.Channel.DEVICE),
                    signature=form.signature(request.LANGUAGE_CODE),
                    transmission=bool(form.cleaned_data.get("transmission")),
                )
            except ConsentError as exc:
                form.add_error(None, exc.messages[0])
            else:
                return redirect(request.path)
    text = _notice_text(request, notice)
    return render(
        request,
        "portal/consent_session.html",
        {
            "session": session,
            "system": system,
            "notice": notice,
            "text": text,
            "form": form,
            "purpose_name": loc(session.purpose, "name"),
            "written_text": written_text,
        },
    )


def _written_text(request, session, notice, *, for_child: bool = False) -> str | None:
    """The text to sign where the system needs written consent (R4), in the page's language; else None."""
    if not session.system.requires_written_consent or notice is None:
        return None
    return written_consent_body(
        system=session.system,
        purpose=session.purpose,
        notice=notice,
        language=request.LANGUAGE_CODE,
        for_child=for_child,
        with_transmission=True,  # the page records the transmission consent with this one (consent/sessions.py)
    )


def _device_language(request, session) -> None:
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:  # the device's language until the person picks one
        translation.activate(session.language)
        request.LANGUAGE_CODE = session.language


def _notice_text(request, notice) -> dict[str, str]:
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    return cast("dict[str, dict[str, str]]", notice.snapshot or {}).get(lang) or {}


def _alternatives(system) -> str:
    return ", ".join(str(Alternative(code).label) for code in system.alternatives if code in Alternative.values)


def _guardian_form(request, session, data=None) -> GuardianConfirmForm:
    return GuardianConfirmForm(
        data,
        written_text=_written_text(request, session, session.notice, for_child=True),
        transmits=session.system.internet_transmission,
    )


def _done(request, session, token: str, **forms):
    """The page after the answer: what was recorded, the receipt, and for a child the guardian's confirmation."""
    guardian_needed = session.state == session.State.GUARDIAN_NEEDED
    written_text = _written_text(request, session, session.notice, for_child=True) if guardian_needed else None
    return render(
        request,
        "portal/consent_session_done.html",
        {
            "session": session,
            "system": session.system,
            "alternatives": _alternatives(session.system),
            "token": token,
            "phone_form": ReceiptPhoneForm(),
            "recent": consent_session_recent(session),
            "guardian_phone_form": forms.get("guardian_phone_form") or GuardianPhoneForm(),
            "guardian_form": forms.get("guardian_form"),
            "written_text": written_text,
            "guardian_phone": forms.get("guardian_phone", ""),
            "notice_text": _notice_text(request, session.notice)
            if session.state == session.State.GUARDIAN_NEEDED and session.notice
            else None,
        },
    )


@never_cache
@require_POST
def consent_session_guardian(request, token: str):
    """A child's parent or guardian confirms with a code to their own phone (consent/sessions.py explains)."""
    session = consent_session_for_page(token)
    if session is None or session.state != session.State.GUARDIAN_NEEDED:
        return (
            redirect("portal:consent_session", token=token)
            if session
            else render(request, "portal/consent_session_gone.html", status=410)
        )
    _device_language(request, session)
    address = ratelimit.client_address(request)
    if request.POST.get("action") == "send_code":
        phone_form = GuardianPhoneForm(request.POST)
        if not ratelimit.allow("guardian-code", str(session.public_id), limit=GUARDIAN_CODES, window_seconds=3600):
            phone_form.add_error(None, _("Too many codes for this page: please ask the staff."))
        elif phone_form.is_valid():
            try:
                masked = consent_session_guardian_code_send(session=session, phone=phone_form.cleaned_data["phone"])
            except ConsentError as exc:
                phone_form.add_error(None, exc.messages[0])
            else:
                return _done(
                    request,
                    session,
                    token,
                    guardian_form=_guardian_form(request, session),
                    guardian_phone=masked,
                )
        return _done(request, session, token, guardian_phone_form=phone_form)
    form = _guardian_form(request, session, request.POST)
    if not ratelimit.allow("guardian-try", address, limit=ANSWERS_PER_ADDRESS, window_seconds=3600):
        form.add_error(None, _("Too many answers from this network in the last hour: please ask the staff."))
    elif form.is_valid():
        try:
            consent_session_guardian_confirm(
                session=session,
                code=form.cleaned_data["code"],
                child_date_of_birth=form.cleaned_data["child_date_of_birth"],
                provenance=request_provenance(request, ConsentRecord.Channel.DEVICE),
                signature=form.signature(request.LANGUAGE_CODE),
                transmission=bool(form.cleaned_data.get("transmission")),
            )
        except ConsentError as exc:
            form.add_error(None, exc.messages[0])
        else:
            return redirect("portal:consent_session", token=token)
    return _done(request, session, token, guardian_form=form, guardian_phone=request.POST.get("masked", ""))
