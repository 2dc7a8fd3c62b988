from __future__ import annotations

from typing import Any, cast

from allauth.account.forms import RequestLoginCodeForm as AllauthRequestLoginCodeForm
from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.models import DeceasedRepresentation
from consent.rules import normalize_phone
from consent.written import NAME_MAX, Signature, written_consent_fingerprint
from dataops.models import Incident, LegalEntity, ProcessingSystem, Request
from dataops.registry.models import Alternative
from facerights.present import choices_text
from facerights.uploads import read_upload

from .templatetags.portal_tags import loc

OUTCOMES = [
    ("deleted", _("Deleted")),
    ("not_found", _("Not found: we held nothing under this key")),
    ("held", _("Kept, with a legal reason (processing stopped)")),
]


# What a vendor may answer to a restriction, or to its lifting (the values are the API's statuses).
ACTION_OUTCOMES = {
    "restrict": [
        ("restricted", _("Restricted: the data is kept and no one is processed with it")),
        ("not_found", _("Not found: we held nothing under this key")),
    ],
    "lift_restriction": [
        ("lifted", _("Lifted: the data may be used again under the person's consent")),
        ("not_found", _("Not found: we held nothing under this key")),
    ],
}


class VendorConfirmationForm(forms.Form):
    outcome = forms.ChoiceField(label=_("What was done"), choices=OUTCOMES, widget=forms.RadioSelect)
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

    def __init__(self, *args, contract_ended: bool = False, action: str = "delete", **kwargs):
        super().__init__(*args, **kwargs)
        self.contract_ended = contract_ended
        if action in ACTION_OUTCOMES:  # a restriction, or its lifting: nothing is deleted, nothing held back
            cast(forms.ChoiceField, self.fields["outcome"]).choices = ACTION_OUTCOMES[action]
            del self.fields["reason"], self.fields["certificate"]
        elif contract_ended:
            # After a processor's contract ends it keeps nothing and proves the deletion (PIPL Art 21).
            outcome = cast(forms.ChoiceField, self.fields["outcome"])
            outcome.choices = [(value, label) for value, label in OUTCOMES if value != "held"]
            self.fields["certificate"].required = True
            self.fields["certificate"].label = _("Deletion certificate (required: PDF, PNG or JPEG, at most 5 MB)")

    def clean_certificate(self):
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return None
        read_upload(upload)  # size, real type, pixels; raises with a clear message
        upload.seek(0)
        return upload

    def clean(self):
        data = cast("dict[str, Any]", super().clean())  # Form.clean returns cleaned_data
        if data.get("outcome") == "held" and not (data.get("reason") or "").strip():
            self.add_error("reason", _("Say why the data is kept."))
        return data


class RequestLoginCodeForm(AllauthRequestLoginCodeForm):
    """Asking for a sign-in code needs an email or a phone number (allauth takes neither and fails)."""

    def clean(self):
        cleaned_data = super().clean()
        if not self.errors and not cleaned_data.get("email") and not cleaned_data.get("phone"):
            raise ValidationError(_("Enter your email address or your phone number."), code="required")
        return cleaned_data


class SignupForm(AllauthSignupForm):
    """Sign up with an email address or a phone number: one of the two is needed, never a face."""

    def __init__(self, *args, **kwargs):
        kwargs["email_required"] = False  # settings say "email*" for allauth's checks; a phone is enough
        super().__init__(*args, **kwargs)
        # Say what is needed: one of the two identifiers (each marked so), and a password only if wanted.
        if "email" in self.fields:
            self.fields["email"].label = _("Email address (or a phone number below)")
            self.fields["email"].help_text = _("One of the two is needed: an email address or a phone number.")
        if "phone" in self.fields:
            self.fields["phone"].label = _("Phone number (or an email address above)")
        if "password1" in self.fields:
            self.fields["password1"].label = _("Password (optional)")
            self.fields["password1"].help_text = _(
                "Leave it empty to sign in with a one-time code each time. If you set one: at least 10 characters, "
                "not only digits, not a common password, and not like your email or phone."
            )

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone"):
            raise ValidationError(_("Enter an email address or a phone number."), code="identifier")
        return data


def transmission_field(*, for_child: bool) -> forms.BooleanField:
    """The separate consent to sending faces over the internet (Measures Art 8): its own box, never ticked for
    anyone; the service refuses a consent without it (consent/sessions.py)."""
    return forms.BooleanField(
        required=False,
        label=_("Separately, I consent to this system sending my child's facial information over the internet.")
        if for_child
        else _("Separately, I consent to this system sending my facial information over the internet."),
        help_text=_(
            "This system sends facial information over the internet, which needs a consent of its own. Without it, "
            "the consent above cannot be used: choose the alternative instead."
        ),
    )


class ShownFingerprintField(forms.CharField):
    """The fingerprint of the text a page shows to sign: posted back as it was, always rendered as it is now
    (a page shown again after the text changed carries the new text's fingerprint, not the stale one)."""

    widget = forms.HiddenInput

    def bound_data(self, data, initial):
        return initial


class ShownNoticeVersionField(forms.IntegerField):
    """The version of the notice a page shows: posted back as it was, always rendered as it is now (a page shown
    again after a new notice was published carries the new version, so the person's next answer counts)."""

    widget = forms.HiddenInput

    def bound_data(self, data, initial):
        return initial


class SignatureMixin:
    """A written consent's signature (R4): the name typed, and the fingerprint of the text the page showed.

    `written_text` is the text to sign (consent.written.written_consent_body), or None where the
    system needs no written consent; the fields exist only then.
    """

    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def signature_fields_add(self, written_text: str | None, *, required: bool = True) -> None:
        if written_text is None:
            return
        self.fields["signature_name"] = forms.CharField(
            label=_("Your full name, as your signature"),
            max_length=NAME_MAX,
            required=required,
            help_text=_("Typing your name signs the text above: it is kept with your consent, and you can download it.")
            if required
            else _("Needed only to consent: typing your name signs the text above."),
            widget=forms.TextInput(attrs={"autocomplete": "name"}),
            error_messages={"required": _("Type your full name to sign: this system needs your written consent.")},
        )
        self.fields["shown_sha256"] = ShownFingerprintField(
            initial=written_consent_fingerprint(written_text), max_length=64, required=required
        )

    def signature(self, language: str) -> Signature | None:
        """The signature given, for a text shown in `language`; None where the form asks for none."""
        if "signature_name" not in self.fields:
            return None
        return Signature(
            name=self.cleaned_data.get("signature_name") or "",
            shown_sha256=self.cleaned_data.get("shown_sha256") or "",
            language=language,
        )


class ConsentForm(SignatureMixin, forms.Form):
    """One box, never ticked in advance, for this system and purpose only (R3).

    When the person's date of birth is unknown it is asked here: an unknown age is
    never an adult's (docs/legal-readings.md).
    """

    agree = forms.BooleanField(
        label=_(
            "I have read the notice above and agree to this system processing my facial information for this purpose."
        ),
        required=True,
        error_messages={"required": _("Tick the box to consent, or choose “No, thanks”.")},
    )

    def __init__(
        self,
        *args,
        ask_date_of_birth: bool = False,
        for_child: bool = False,
        written_text: str | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.signature_fields_add(written_text)
        if ask_date_of_birth:
            self.fields["date_of_birth"] = forms.DateField(
                label=_("The child's date of birth") if for_child else _("Your date of birth"),
                help_text=_("Children under 14 need a parent's or guardian's consent, so we need it once."),
                widget=forms.DateInput(attrs={"type": "date"}),
                error_messages={
                    "required": _("Give the date of birth: without it no one can consent to facial recognition."),
                    "invalid": _("Enter a date such as 1990-05-17."),
                },
            )

    def clean_date_of_birth(self):
        born = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born > today or born.year < 1900:
            raise ValidationError(_("Enter a real date of birth."), code="invalid")
        return born


class EnrolmentCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Enrolment code"),
        max_length=20,
        help_text=_("The code shown or printed when your face was enrolled, such as ABCDE-23456."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autocapitalize": "characters"}),
    )


class IdentityCheckForm(forms.Form):
    scan = forms.FileField(
        label=_("A scan or photo of your identity document (PDF, PNG or JPEG, at most 5 MB)"),
        help_text=_(
            "It is encrypted, seen only by the data-protection officer, never used for recognition, and destroyed after the check."
        ),
    )
    note = forms.CharField(
        label=_("Anything that helps find your records (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def clean(self):
        data = cast("dict[str, Any]", super().clean())  # Form.clean returns cleaned_data
        upload = data.get("scan")
        if upload:
            try:
                data["scan_bytes"], data["scan_type"] = read_upload(upload)
            except ValidationError as exc:
                self.add_error("scan", exc)
        return data


def _system_with_alternatives(system: ProcessingSystem) -> str:
    ways = choices_text(Alternative, system.alternatives or [])
    name = loc(system, "name")
    return _("%(system)s (without your face: %(ways)s)") % {"system": name, "ways": ways} if ways else name


REQUEST_TYPES_IN_FORM = [
    "access",
    "correction",
    "deletion",
    "restriction",
    "restriction_lift",
    "explanation",
    "switch_alternative",
    "complaint",
]


class RequestForm(forms.Form):
    type = forms.ChoiceField(label=_("What would you like?"))
    system: forms.ModelChoiceField[ProcessingSystem] = forms.ModelChoiceField(
        label=_("Which system (optional: leave empty for all)"), queryset=None, required=False
    )
    details = forms.CharField(
        label=_("Details"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("For a correction, what is wrong; for a complaint, what happened. Never needed for a deletion."),
    )

    def __init__(self, *args, subject, incident_notices=(), **kwargs):
        super().__init__(*args, **kwargs)
        if incident_notices:
            # The security incidents the person was told of: a request may be about one of them.
            incident_field: forms.ModelChoiceField[Incident] = forms.ModelChoiceField(
                label=_("About a security incident you were told of (optional)"),
                queryset=Incident.objects.filter(notices__in=incident_notices).distinct(),
                required=False,
            )
            incident_field.label_from_instance = lambda incident: incident.reference  # type: ignore[method-assign,assignment]
            self.fields["incident"] = incident_field

        labels = dict(Request.Type.choices)
        # Copies of the fields declared above.
        type_field = cast(forms.ChoiceField, self.fields["type"])
        system_field = cast("forms.ModelChoiceField[ProcessingSystem]", self.fields["system"])
        type_field.choices = [(value, labels[value]) for value in REQUEST_TYPES_IN_FORM]
        system_field.queryset = ProcessingSystem.objects.filter(holdings__subject=subject).distinct()
        # Each system with its non-face ways in, so a switch says which one the person will use.
        system_field.label_from_instance = _system_with_alternatives  # type: ignore[method-assign,assignment]
        system_field.help_text = _(
            "Switching to a non-face method withdraws your face consent at that system and deletes your facial "
            "data there; you then use the way in shown beside its name."
        )

    def clean(self):
        data = cast("dict[str, Any]", super().clean())  # Form.clean returns cleaned_data
        if data.get("type") == "switch_alternative" and not data.get("system"):
            self.add_error("system", _("Choose the system where you want a non-face method."))
        if (
            data.get("type") in ("correction", "complaint", "deceased_relative", "explanation")
            and not (data.get("details") or "").strip()
        ):
            self.add_error("details", _("Tell us briefly what this is about."))
        return data


class VerifyForm(forms.Form):
    """A fingerprint and a signature, as printed on a filing document or a deletion certificate."""

    fingerprint = forms.RegexField(
        label=_("Fingerprint (SHA-256)"),
        regex=r"^\s*[0-9a-fA-F]{64}\s*$",
        error_messages={"invalid": _("A fingerprint is 64 characters, 0 to 9 and a to f, as printed.")},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    signature = forms.CharField(
        label=_("Signature"),
        max_length=200,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_("It starts with ed25519: as printed."),
    )


class VendorDigestForm(forms.Form):
    """Many deletions confirmed at once: one outcome for all, the keys not found listed apart."""

    outcome = forms.ChoiceField(
        label=_("What was done"),
        choices=[("deleted", _("deleted")), ("not_found", _("not found: nothing to delete"))],
        widget=forms.RadioSelect,
        initial="deleted",
    )
    not_found_keys = forms.CharField(
        label=_("Keys not found (one per line; the rest get the answer above)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=200_000,
    )
    performed_by = forms.CharField(label=_("Done by (name and role)"), max_length=100)
    performed_at = forms.DateTimeField(
        label=_("Done at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M"],
    )
    certificate = forms.FileField(
        label=_("Deletion certificate (optional: PDF, PNG or JPEG, at most 5 MB)"), required=False
    )
    confirm_all = forms.BooleanField(label="")

    def __init__(self, *args, count: int, certificate: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["confirm_all"].label = _("I confirm this for all %(count)d instructions listed") % {"count": count}
        if certificate:
            self.fields["certificate"].required = True
            self.fields["certificate"].label = _("Deletion certificate (required: PDF, PNG or JPEG, at most 5 MB)")

    def clean_not_found_keys(self) -> set[str]:
        return {line.strip() for line in self.cleaned_data["not_found_keys"].splitlines() if line.strip()}

    def clean_certificate(self):
        upload = self.cleaned_data.get("certificate")
        if not upload:
            return None
        read_upload(upload)  # size, real type, pixels; raises with a clear message
        upload.seek(0)
        return upload


class LookupForm(forms.Form):
    reference = forms.CharField(label=_("Reference"), max_length=20)
    code = forms.CharField(
        label=_("Lookup code"), max_length=20, help_text=_("As printed on the slip, with or without the dash.")
    )


class ComplaintForm(forms.Form):
    """A complaint without an account. `website` is a trap field people never see or fill in."""

    entity = forms.ModelChoiceField(label=_("About the company"), queryset=LegalEntity.objects.order_by("name_zh"))
    text = forms.CharField(
        label=_("Your complaint"), min_length=10, max_length=4000, widget=forms.Textarea(attrs={"rows": 6})
    )
    contact = forms.CharField(
        label=_("How to answer you (optional)"),
        required=False,
        max_length=200,
        help_text=_("A phone number, an email or an address. Without it, follow the answer with the code you get."),
    )
    website = forms.CharField(required=False, widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}))
    started = forms.CharField(widget=forms.HiddenInput)


class AccountCloseForm(forms.Form):
    """What happens to the person's data when their account closes: their choice, none made for them."""

    what = forms.ChoiceField(
        label=_("Your facial data and consents"),
        widget=forms.RadioSelect,
        choices=[
            (
                "delete",
                _("Delete my facial data from every system and withdraw every consent, then close the account"),
            ),
            (
                "keep",
                _(
                    "Close only the account: my consents and facial data stay as they are, and I can still withdraw "
                    "or ask for deletion at a front desk, by phone or by letter"
                ),
            ),
        ],
    )

    def __init__(self, *args, has_records: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not has_records:
            self.fields["what"].required = False  # an account with no records has nothing to choose


class DeceasedClaimForm(forms.Form):
    """A close relative asks to act for a deceased person (PIPL Art 49)."""

    relationship = forms.ChoiceField(
        label=_("You are the deceased person's"), choices=DeceasedRepresentation.Relationship.choices
    )
    note = forms.CharField(
        label=_("Who they were"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Their name, and the phone number or email they used, so the officer can find their records."),
    )
    proof = forms.FileField(
        label=_("Death certificate and proof of your relationship, in one file (PDF, PNG or JPEG, at most 5 MB)"),
        help_text=_("It is encrypted, seen only by the data-protection officer, and destroyed after the review."),
    )

    def clean(self):
        data = cast("dict[str, Any]", super().clean())  # Form.clean returns cleaned_data
        upload = data.get("proof")
        if upload:
            try:
                data["proof_bytes"], data["proof_type"] = read_upload(upload)
            except ValidationError as exc:
                self.add_error("proof", exc)
        return data


class DeceasedRequestForm(forms.Form):
    """What a relative may ask for a deceased person: access, a copy, correction, deletion (PIPL Art 49)."""

    type = forms.ChoiceField(
        label=_("What would you like for them?"),
        choices=[
            ("access", _("what is held about them")),
            ("copy", _("a copy of their data")),
            ("correction", _("correction of their data")),
            ("deletion", _("deletion of their facial data")),
        ],
    )
    details = forms.CharField(
        label=_("Details"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def clean(self):
        data = cast("dict[str, Any]", super().clean())  # Form.clean returns cleaned_data
        if data.get("type") == "correction" and not (data.get("details") or "").strip():
            self.add_error("details", _("Tell us briefly what this is about."))
        return data


class ConsentAnswerForm(SignatureMixin, forms.Form):
    """The one screen of a consent at capture: a date of birth and one of three answers, none chosen for the person."""

    notice_version = ShownNoticeVersionField()
    date_of_birth = forms.DateField(
        label=_("Your date of birth"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday", "aria-describedby": "dob-help"}),
        help_text=_("Needed to consent: under 14, a parent or guardian consents instead. Not needed to say no."),
    )
    answer = forms.ChoiceField(widget=forms.RadioSelect, label=_("Your answer"))

    def __init__(
        self,
        *args,
        alternatives: str,
        purpose: str,
        written_text: str | None = None,
        transmits: bool = False,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        if transmits:
            self.fields["transmission"] = transmission_field(for_child=False)
        # Needed to consent, never to say no; and not from a child, whose guardian signs (consent/sessions.py).
        self.signature_fields_add(written_text, required=False)
        cast(forms.ChoiceField, self.fields["answer"]).choices = [
            ("consent", _("I consent to the use of my face for %(purpose)s.") % {"purpose": purpose}),
            (
                "alternative",
                _("I will use another way instead: %(ways)s.") % {"ways": alternatives}
                if alternatives
                else _("I will use another way instead (ask the staff)."),
            ),
            ("decline", _("No, I do not consent.")),
        ]

    def clean_date_of_birth(self):
        born = self.cleaned_data.get("date_of_birth")
        if born is not None and born > timezone.localdate():
            raise ValidationError(_("A date of birth cannot be in the future."), code="future")
        return born


class ReceiptPhoneForm(forms.Form):
    """Where to text a consent's receipt; optional, and used for nothing else."""

    phone = forms.CharField(
        label=_("Your mobile number"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "aria-describedby": "phone-help"}),
        help_text=_("We text you the receipt's link, and use this number only to send you a code if you withdraw."),
    )

    def clean_phone(self):
        return normalize_phone(self.cleaned_data["phone"])


class WithdrawCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The code we texted you"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class GuardianPhoneForm(ReceiptPhoneForm):
    """A child's parent or guardian, giving their own number for a code."""

    prefix = "guardian"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phone"].label = _("Parent or guardian: your mobile number")
        self.fields["phone"].help_text = _("The number on record with us for you. We text you a code to confirm.")
        self.fields["phone"].widget.attrs["aria-describedby"] = "guardian-phone-help"


class GuardianConfirmForm(SignatureMixin, forms.Form):
    code = forms.CharField(
        label=_("The code we texted you"),
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
    child_date_of_birth = forms.DateField(
        label=_("Your child's date of birth"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, written_text: str | None = None, transmits: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if transmits:
            self.fields["transmission"] = transmission_field(for_child=True)
        self.signature_fields_add(written_text)

    def clean_child_date_of_birth(self):
        born = self.cleaned_data["child_date_of_birth"]
        if born > timezone.localdate():
            raise ValidationError(_("A date of birth cannot be in the future."), code="future")
        return born
