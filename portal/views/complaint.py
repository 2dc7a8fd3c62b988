"""A complaint without an account (R29): open to anyone, and hard to abuse without a CAPTCHA.

Abuse is held back by what a person filling in a form never trips over: a trap field
hidden from people, a form that must have been open a few seconds (and less than a day),
a few complaints per address per hour and per day, and a ceiling for the whole site per
hour. A refusal says what to do instead (write, call, or come to a desk).
"""

from __future__ import annotations

import time

from django.core import signing
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from dataops.requests.complaints import complaint_anonymous_submit
from dataops.requests.lookup import format_code
from facerights import ratelimit

from ..forms import ComplaintForm

SALT = "portal.complaint.started"
MIN_SECONDS = 3
MAX_SECONDS = 24 * 3600
PER_ADDRESS_HOUR = 3
PER_ADDRESS_DAY = 10
SITE_HOUR = 200


def _started_token() -> str:
    return signing.dumps(int(time.time()), salt=SALT)


def _plausible(form: ComplaintForm) -> bool:
    """Filled in by a person: the trap field empty, and the form open between a few seconds and a day."""
    if form.cleaned_data.get("website"):
        return False
    try:
        started = signing.loads(form.cleaned_data["started"], salt=SALT, max_age=MAX_SECONDS)
    except signing.BadSignature:
        return False
    return time.time() - int(started) >= MIN_SECONDS


@never_cache
def complaint(request):
    form = ComplaintForm(request.POST or None, initial={"started": _started_token()})
    if request.method == "POST" and form.is_valid():
        address = ratelimit.client_address(request)
        allowed = (
            ratelimit.allow("complaint-hour", address, limit=PER_ADDRESS_HOUR, window_seconds=3600)
            and ratelimit.allow("complaint-day", address, limit=PER_ADDRESS_DAY, window_seconds=86400)
            and ratelimit.allow("complaint-site", "all", limit=SITE_HOUR, window_seconds=3600)
        )
        if not allowed:
            form.add_error(
                None,
                _("Too many complaints from here just now. Try again later, or use another way on the contact page."),
            )
            return render(request, "portal/complaint.html", {"form": form}, status=429)
        if not _plausible(form):
            # What they wrote stays in the form; sent again in a few seconds, it goes through.
            data = request.POST.copy()
            data["started"], data["website"] = _started_token(), ""
            form = ComplaintForm(data)
            form.is_valid()
            form.add_error(None, _("This form could not be accepted yet. Check it and send it again."))
            return render(request, "portal/complaint.html", {"form": form}, status=400)
        made, code = complaint_anonymous_submit(
            entity=form.cleaned_data["entity"], text=form.cleaned_data["text"], contact=form.cleaned_data["contact"]
        )
        return render(
            request,
            "portal/complaint_received.html",
            {"reference": made.reference, "code": format_code(code), "due": made.due},
        )
    return render(request, "portal/complaint.html", {"form": form})
