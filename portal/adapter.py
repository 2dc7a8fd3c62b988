"""django-allauth, fitted to FaceRights: phone numbers encrypted, codes by the pluggable SMS backend."""

from __future__ import annotations

from allauth.account import stages
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.fields import PhoneField
from allauth.account.models import EmailAddress
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

from consent.rules import normalize_phone
from facerights.accounts import user_by_phone, user_phone_get, user_phone_set
from facerights.roles import Role
from facerights.sms import sms_send, sms_signature


class MainlandPhoneField(PhoneField):
    """Accepts a mainland mobile number as people type it (138 0013 8000), stored as E.164."""

    def to_python(self, value):
        value = super().to_python(value)
        if value:
            try:
                return normalize_phone(value)
            except ValidationError:
                return value  # the E.164 validator then explains what is wrong
        return value


class EmailVerificationStage(stages.EmailVerificationStage):
    """Email verification is mandatory, for an account that has an email address.

    Sign-up takes an email address or a phone number. allauth's mandatory
    verification assumes every account has an email; here an account made with a
    phone number proves that number by code instead (allauth's phone stage), so it
    passes this stage. Mandatory verification is what lets sign-up answer the same
    whether or not the address already has an account (issue 15, item 6).
    """

    def handle(self):
        user = self.login.user
        if user is not None and not self.login.email and not EmailAddress.objects.filter(user_id=user.pk).exists():
            return None, True
        return super().handle()


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        """Each role lands where its work is: a regulator on its filings, a desk at its counter, staff in the admin."""
        user = request.user
        roles = set(user.groups.values_list("name", flat=True))
        if Role.REGULATOR in roles:
            return reverse("portal:regulator_home")
        if Role.DESK in roles:
            return reverse("desk:home")
        if user.is_staff:
            return reverse("admin:index")
        return super().get_login_redirect_url(request)

    def get_login_stages(self) -> list[str]:
        ours = f"{EmailVerificationStage.__module__}.{EmailVerificationStage.__qualname__}"
        return [
            ours if path == "allauth.account.stages.EmailVerificationStage" else path
            for path in super().get_login_stages()
        ]

    def phone_form_field(self, **kwargs):
        kwargs.setdefault("help_text", _("A mainland mobile number, or any number with its country code."))
        return MainlandPhoneField(**kwargs)

    def clean_phone(self, phone: str) -> str:

        try:
            return normalize_phone(phone)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from None

    def set_phone(self, user, phone: str, verified: bool) -> None:
        user_phone_set(actor=f"user:{user.pk}", user=user, phone=phone, verified=verified)

    def get_phone(self, user) -> tuple[str, bool] | None:
        return user_phone_get(user)

    def set_phone_verified(self, user, phone: str) -> None:
        user_phone_set(actor=f"user:{user.pk}", user=user, phone=phone, verified=True)

    def get_user_by_phone(self, phone: str):
        return user_by_phone(phone)

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        sms_send(phone, "login_code", {"company": sms_signature(), "code": code})

    def send_unknown_account_sms(self, phone: str, **kwargs) -> None:
        # Enumeration prevention: the person asking sees the same page either way;
        # the owner of the number learns that no account uses it.
        sms_send(phone, "login_unknown", {"company": sms_signature()})

    def send_account_already_exists_sms(self, phone: str) -> None:
        # Sign-up with a number (or with an email given beside it) that an account
        # already uses: the page asks for a code either way; the owner is told here.
        sms_send(phone, "signup_exists", {"company": sms_signature()})
