"""Consent where the face is captured: the page a device's QR code (or a desk tablet) opens (consent/sessions.py).

No account and no sign-in: the address's random token is the key, and it expires within minutes.
"""

from typing import cast

from django.conf import settings
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from consent.models import ConsentRecord
from consent.rules import ip_prefix
from consent.services import ConsentError, Provenance, notice_current
from consent.sessions import consent_session_answer, consent_session_for_page
from dataops.registry.models import Alternative
from facerights import ratelimit

from ..forms import ConsentAnswerForm, ReceiptPhoneForm
from ..templatetags.portal_tags import loc

ANSWERS_PER_ADDRESS = 3000  # an hour: a lobby tablet, or a hotel Wi-Fi behind one address, answers for many people


@never_cache
def consent_session_page(request, token: str):
    session = consent_session_for_page(token)
    if session is None:
        return render(request, "portal/consent_session_gone.html", status=410)
    if settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:  # the device's language until the person picks one
        translation.activate(session.language)
        request.LANGUAGE_CODE = session.language
    system = session.system
    alternatives = ", ".join(str(Alternative(code).label) for code in system.alternatives if code in Alternative.values)
    if session.state != session.State.OPEN:
        return render(
            request,
            "portal/consent_session_done.html",
            {
                "session": session,
                "system": system,
                "alternatives": alternatives,
                "token": token,
                "phone_form": ReceiptPhoneForm(),
            },
        )
    notice = notice_current(system)
    if notice is None:  # withdrawn since the session opened: nobody is asked to consent to what they cannot read
        return render(request, "portal/consent_session_gone.html", status=410)
    form = ConsentAnswerForm(
        request.POST if request.method == "POST" else None,
        initial={"notice_version": notice.version},
        alternatives=alternatives,
        purpose=loc(session.purpose, "name"),
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
                    provenance=Provenance(
                        channel=ConsentRecord.Channel.DEVICE,
                        ip_prefix=ip_prefix(request.META.get("REMOTE_ADDR")),
                        user_agent=request.META.get("HTTP_USER_AGENT", "")[:255],
                    ),
                )
            except ConsentError as exc:
                form.add_error(None, exc.messages[0])
            else:
                return redirect(request.path)
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    text = cast("dict[str, dict[str, str]]", notice.snapshot or {}).get(lang) or {}
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
        },
    )
