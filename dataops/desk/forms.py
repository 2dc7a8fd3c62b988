"""The desk's forms: what the person presents, how their identity was checked, what they ask."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..registry.models import ProcessingSystem
from ..requests.models import Request
from .models import DeskVisit


class FindForm(forms.Form):
    found_by = forms.ChoiceField(
        label=_("The person presents"), choices=DeskVisit.FoundBy.choices, widget=forms.RadioSelect
    )
    phone = forms.CharField(label=_("Phone number"), required=False, max_length=32)
    system_key = forms.CharField(label=_("Key on their card"), required=False, max_length=128)
    name = forms.CharField(label=_("Full name"), required=False, max_length=100)
    date_of_birth = forms.DateField(
        label=_("Date of birth"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean() or {}
        needed: dict[str, tuple[str, ...]] = {
            "phone": ("phone",),
            "system_key": ("system_key",),
            "name_birth": ("name", "date_of_birth"),
        }
        for name in needed.get(str(data.get("found_by")), ()):
            if not data.get(name):
                self.add_error(name, _("Needed to find the person this way."))
        return data


class DocumentForm(forms.Form):
    document_type = forms.ChoiceField(label=_("Document shown"), choices=DeskVisit.Document.choices)
    last4 = forms.CharField(
        label=_("Last four characters of its number"),
        min_length=4,
        max_length=4,
        help_text=_("Only these four are recorded; the document is never scanned or copied."),
    )


class CodeForm(forms.Form):
    code = forms.CharField(label=_("Code the person reads out"), max_length=8)


class RequestForm(forms.Form):
    type = forms.ChoiceField(
        label=_("The person asks for"),
        choices=[(value, label) for value, label in Request.Type.choices if value in Request.ASSISTED_TYPES],
    )
    system = forms.ModelChoiceField(
        label=_("System"),
        queryset=ProcessingSystem.objects.none(),
        required=False,
        help_text=_("For a switch to a non-face method, or to limit the request to one system."),
    )
    details = forms.CharField(
        label=_("In the person's words"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, systems, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["system"].queryset = systems  # type: ignore[attr-defined]
