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
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


def signed_in_recently(request) -> bool:
    records = get_authentication_records(request, request.user)
    latest = max((record.get("at", 0) for record in records), default=0)
    return time.time() - latest < settings.ACCOUNT_REAUTHENTICATION_TIMEOUT


def fresh_sign_in_required(view):
    """Let the view run only if the person signed in (or re-authenticated) in the last few minutes.

    With a password or a second factor, allauth asks for it and resumes the
    request. A passwordless account has nothing to re-enter: it signs in again
    with a one-time code, and comes back to the page it was on.
    """

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if signed_in_recently(request):
            return view(request, *args, **kwargs)
        if get_reauthentication_flows(request.user):
            raise ReauthenticationRequired()
        back = request.GET.get("next") or request.META.get("HTTP_REFERER") or reverse("portal:dashboard")
        if not back.startswith("/"):
            back = reverse("portal:dashboard")
        logout(request)
        messages.info(request, _("For your safety, sign in again to continue."))
        return redirect(f"{reverse('account_login')}?{urlencode({'next': back})}")

    return wrapper
