"""Applying a correction or supplement the person asked for, once the DPO reviewed it (PIPL Art 46).

What FaceRights holds about a person that can be wrong or missing: their name, their date
of birth, a phone or an email to reach them. The DPO checks the request against evidence,
then applies it here; the request completes with it, so the person is told.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from consent.services import subject_correct, subject_identifier_add

from .models import Request
from .services import request_complete


def request_correction_apply(
    *,
    actor: str,
    request: Request,
    name: str = "",
    date_of_birth: dt.date | None = None,
    phone: str = "",
    email: str = "",
) -> Request:
    """Correct or supplement the person's records as their request asks, and complete it."""
    if request.type != Request.Type.CORRECTION or request.state not in Request.OPEN_STATES:
        raise ValidationError(_("Only an open correction request can be applied."))
    if not (name.strip() or date_of_birth or phone.strip() or email.strip()):
        raise ValidationError(_("Give what is to be corrected or added."))
    with transaction.atomic():
        subject_correct(actor=actor, subject=request.subject, name=name, date_of_birth=date_of_birth)
        for kind, value in (("phone", phone), ("email", email)):
            if value.strip():
                try:
                    subject_identifier_add(actor=actor, subject=request.subject, kind=kind, value=value)
                except ValidationError as exc:
                    raise ValidationError({kind: exc.messages}) from exc
        return request_complete(actor=actor, request=request)
