"""Staff and regulators sign in through allauth with a second factor; the admin and the regulator's
area cannot be reached any other way."""

from __future__ import annotations

from allauth.account.authentication import get_authentication_records
from allauth.mfa.utils import is_mfa_enabled
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .roles import Role


def _is_regulator(user) -> bool:
    return user.groups.filter(name=Role.REGULATOR).exists()


def _is_desk(user) -> bool:
    return user.groups.filter(name=Role.DESK).exists()


# Where a second factor is required, for whom, and what to tell them when they have none yet.
AREAS = (
    (
        "/admin/",
        lambda user: user.is_staff,
        gettext_noop("Staff accounts need a second factor: set one up to open the admin."),
    ),
    (
        "/regulator/",
        _is_regulator,
        gettext_noop("Regulator accounts need a second factor: set one up to open the filings of your province."),
    ),
    (
        "/desk/",
        _is_desk,
        gettext_noop("Front-desk accounts need a second factor: set one up to open the desk."),
    ),
)


def staff_second_factor_used(request) -> bool:
    """This session's sign-in included a second factor (TOTP, passkey or recovery code)."""
    return any(record.get("method") == "mfa" for record in get_authentication_records(request, request.user))


class StaffSecondFactorMiddleware:
    """Every admin page (for staff) and every regulator page (for regulators) needs the account
    signed in with its second factor in this session.

    An account without a second factor is sent to set one up; one that signed in
    without using it is signed out and sent to sign in again.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            for prefix, applies, message in AREAS:
                if request.path.startswith(prefix) and applies(user):
                    if not is_mfa_enabled(user):
                        messages.warning(request, _(message))
                        return redirect("mfa_index")
                    if not staff_second_factor_used(request):
                        logout(request)
                        messages.warning(request, _("Sign in again with your second factor to continue."))
                        return redirect(f"{reverse('account_login')}?next={request.path}")
        return self.get_response(request)
