"""Staff sign in through allauth with a second factor; the admin cannot be reached any other way."""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


def staff_second_factor_used(request) -> bool:
    """This session's sign-in included a second factor (TOTP, passkey or recovery code)."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


class StaffSecondFactorMiddleware:
    """Every admin page needs a staff account signed in with its second factor in this session.

    A staff member without a second factor is sent to set one up; one who
    signed in without using it is signed out and sent to sign in again.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.admin_prefix = "/admin/"

    def __call__(self, request):
        user = getattr(request, "user", None)
        if request.path.startswith(self.admin_prefix) and user is not None and user.is_authenticated and user.is_staff:
            if not is_mfa_enabled(user):
                messages.warning(request, _("Staff accounts need a second factor: set one up to open the admin."))
                return redirect("mfa_index")
            if not staff_second_factor_used(request):
                logout(request)
                messages.warning(request, _("Sign in again with your second factor to open the admin."))
                return redirect(f"{reverse('account_login')}?next={request.path}")
        return self.get_response(request)
