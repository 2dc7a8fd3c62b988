"""A complaint from anyone, without an account (R29): kept apart from everyone's records, followed with a code.

The complainant is a record of their own, never matched to anyone by the contact they
typed (an unverified phone number must not file a complaint in someone else's name, nor
show it in their portal); the contact, if given, is kept encrypted with what they wrote,
for the DPO's answer. They follow it with the reference and lookup code the confirmation
page shows once, as a desk's slip gives them.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from consent.services import subject_create
from facerights.audit import audit_record

from ..registry.models import LegalEntity
from .lookup import request_lookup_issue
from .models import Request
from .services import request_submit

TEXT_MAX = 4000


def complaint_anonymous_submit(*, entity: LegalEntity, text: str, contact: str = "") -> tuple[Request, str]:
    """File a complaint made on the public form; returns it and its lookup code (shown once)."""
    text, contact = text.strip(), contact.strip()
    if len(text) < 10:
        raise ValidationError({"text": _("Say what the complaint is about, in a sentence or more.")})
    if len(text) > TEXT_MAX:
        raise ValidationError({"text": _("Keep it under 4,000 characters; the DPO can ask for more.")})
    details = text if not contact else f"{text}\n\n{_('Contact for the answer')}: {contact}"
    with transaction.atomic():
        complainant = subject_create(actor="public:complaint_form")
        request = request_submit(
            actor="public:complaint_form",
            subject=complainant,
            type=Request.Type.COMPLAINT,
            details=details,
            channel=Request.Channel.WEB_FORM,
            entity=entity,
        )
        audit_record(
            actor="public:complaint_form",
            action="request.complaint_without_account",
            target=request,
            data={"contact_given": bool(contact)},
        )
        code = request_lookup_issue(actor="public:complaint_form", request=request)
    return request, code
