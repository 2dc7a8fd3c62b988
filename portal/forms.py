from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CERTIFICATE_TYPES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
}
CERTIFICATE_MAX_BYTES = 5 * 1024 * 1024


class VendorConfirmationForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("What was done"),
        choices=[
            ("deleted", _("Deleted")),
            ("not_found", _("Not found: we held nothing under this key")),
            ("held", _("Kept, with a legal reason (processing stopped)")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(label=_("Reason it is kept"), required=False, max_length=255)
    performed_by = forms.CharField(label=_("Done by (name and role)"), max_length=100)
    performed_at = forms.DateTimeField(
        label=_("Done at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    certificate = forms.FileField(
        label=_("Deletion certificate (optional: PDF, PNG or JPEG, at most 5 MB)"), required=False
    )

    def clean_certificate(self):
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return None
        if upload.size > CERTIFICATE_MAX_BYTES:
            raise ValidationError(_("The file is larger than 5 MB."), code="size")
        head = upload.read(16)
        upload.seek(0)
        if not any(head.startswith(magic) for magic in CERTIFICATE_TYPES):
            raise ValidationError(_("Upload a PDF, PNG or JPEG file."), code="type")
        return upload

    def clean(self):
        data = super().clean()
        if data.get("outcome") == "held" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the data is kept."))
        return data


class SignupForm(AllauthSignupForm):
    """Sign up with an email address or a phone number: one of the two is needed, never a face."""

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone"):
            raise ValidationError(_("Enter an email address or a phone number."), code="identifier")
        return data
