"""Closing one's account (PIPL Art 47): the person chooses, on the confirmation screen, what happens to their data."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from dataops.deletions.intake import account_close
from facerights.accounts import user_close
from facerights.roles import Role

from ..acting import own_subject
from ..auth import fresh_sign_in_gate
from ..forms import AccountCloseForm
from ..provenance import request_provenance


@never_cache
@login_required
def account_close_view(request):
    user = request.user
    if user.is_staff or user.groups.exclude(name__in=[Role.DATA_SUBJECT, Role.GUARDIAN]).exists():
        raise Http404  # a staff, desk or regulator account is closed by a superuser, in the admin
    subject = own_subject(request)
    form = AccountCloseForm(request.POST if request.method == "POST" else None, has_records=subject is not None)
    if request.method == "POST":
        if (gate := fresh_sign_in_gate(request)) is not None:
            return gate  # closing is for the account's owner, signed in just now
        if form.is_valid():
            if subject is None:
                user_close(actor=f"user:{user.pk}", user=user)
                reference = ""
            else:
                made = account_close(
                    user=user,
                    subject=subject,
                    delete_everything=form.cleaned_data["what"] == "delete",
                    provenance=request_provenance(request),
                )
                reference = made.reference
            logout(request)
            return render(request, "portal/account_closed.html", {"reference": reference})
    return render(request, "portal/account_close.html", {"form": form, "has_records": subject is not None})
