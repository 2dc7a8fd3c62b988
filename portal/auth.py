"""Re-authentication before a copy of the data or closing the account; never before a withdrawal."""

from __future__ import annotations

import time
from functools import wraps
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.reauthentication import get_reauthentication_flows
from allauth.core.exceptions import ReauthenticationRequired
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST


def signed_in_recently(request) -> bool:
    records = get_authentication_records(request, request.user)
    latest = max((record.get("at", 0) for record in records), default=0)
    return time.time() - latest < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


def fresh_sign_in_gate(request) -> HttpResponse | None:
    """None if the person signed in (or re-authenticated) in the last few minutes; else what to show.

    With a password or a second factor, allauth asks for it and resumes the request. A
    passwordless account has nothing to re-enter: it signs in again with a one-time code.
    A GET only offers that (a button that posts): following a link, even from another
    site, never ends anyone's session.
    """
    if signed_in_recently(request):
        return None
    if get_reauthentication_flows(request.user):
        raise ReauthenticationRequired()
    if request.method in ("GET", "HEAD"):
        return render(request, "portal/sign_in_again.html", {"next": request.get_full_path()})
    return _sign_out_and_back(request, request.GET.get("next") or request.META.get("HTTP_REFERER"))


def fresh_sign_in_required(view):
    """Let the view run only if the person signed in recently (fresh_sign_in_gate)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        gate = fresh_sign_in_gate(request)
        return gate if gate is not None else view(request, *args, **kwargs)

    return wrapper


def _sign_out_and_back(request, back: str | None) -> HttpResponse:
    if not back or not back.startswith("/") or back.startswith("//"):
        back = reverse("portal:dashboard")
    logout(request)
    messages.info(request, _("For your safety, sign in again to continue."))
    return redirect(f"{reverse('account_login')}?{urlencode({'next': back})}")


@require_POST
def sign_in_again(request):
    """The person chose to sign in again (a POST: a link alone never signs anyone out); part of signing in."""
    return _sign_out_and_back(request, request.POST.get("next"))
