"""Systems reporting enrolments, and asking before they process someone (R7, R15, R30)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from consent.models import ConsentRecord, Notice, Purpose
from consent.services import Evidence, consent_grant, subject_create, subject_find

from .models import Holding, ProcessingSystem
from .services import holding_record


@dataclass
class ConsentReport:
    purpose: str
    notice_version: int
    given_at: dt.datetime
    method: str
    channel: str = ConsentRecord.Channel.DEVICE
    artifact_sha256: str = ""
    guardian_identifiers: dict | None = None


def holding_report(
    *,
    system: ProcessingSystem,
    subject_key: str,
    data_kind: str,
    enrolled_at: dt.datetime,
    identifiers: dict[str, str],
    consent: ConsentReport,
    date_of_birth: dt.date | None = None,
) -> Holding:
    """Record an enrolment a system reports, with the consent it rests on.

    Raises ValidationError with a message for the system's developers when the
    system is not active, the consent evidence does not hold, or the key
    belongs to someone else. Nothing is written unless everything holds.
    """
    actor = f"system:{system.pk}"
    if system.status != ProcessingSystem.Status.ACTIVE:
        raise ValidationError(_("This system is not active: it may not enrol anyone."), code="inactive")
    identifiers = {kind: value for kind, value in identifiers.items() if value}
    if not identifiers:
        raise ValidationError(_("Give at least one identifier (phone, email or external id)."), code="identifiers")
    with transaction.atomic():
        purpose = Purpose.objects.filter(code=consent.purpose).first()
        if purpose is None:
            raise ValidationError(_("Unknown purpose code."), code="purpose")
        notice = system.notices.filter(status=Notice.Status.PUBLISHED, version=consent.notice_version).first()
        if notice is None:
            raise ValidationError(_("This system has no published notice with that version."), code="notice")
        subject = next(
            (found for kind, value in identifiers.items() if (found := subject_find(kind=kind, value=value))), None
        )
        if subject is None:
            subject = subject_create(actor=actor, date_of_birth=date_of_birth, identifiers=list(identifiers.items()))
        elif date_of_birth and subject.date_of_birth is None:
            subject.date_of_birth = date_of_birth
            subject.save(update_fields=["date_of_birth"])
        guardian = None
        if consent.guardian_identifiers:
            guardian = next(
                (
                    g
                    for kind, value in consent.guardian_identifiers.items()
                    if value and (g := subject_find(kind=kind, value=value))
                ),
                None,
            )
            if guardian is None:
                raise ValidationError(
                    _("The guardian is not known: a guardian must be verified first."), code="guardian"
                )
        record = consent_grant(
            actor=actor,
            subject=subject,
            system=system,
            purpose=purpose,
            notice=notice,
            evidence=Evidence(channel=consent.channel),
            method=consent.method,
            guardian=guardian,
            artifact_sha256=consent.artifact_sha256,
            at=consent.given_at,
        )
        return holding_record(
            actor=actor,
            subject=subject,
            system=system,
            subject_key=subject_key,
            data_kind=data_kind,
            consent=record,
            enrolled_at=enrolled_at,
        )


def consent_check(*, system: ProcessingSystem, subject_key: str, purpose: str) -> tuple[bool, str]:
    """May the system process this person for this purpose now? Answers no unless a current consent says yes."""
    if not system.purposes.filter(code=purpose).exists():
        return False, "purpose_not_declared"
    holding = Holding.objects.filter(system=system, subject_key=subject_key).first()
    if holding is None:
        return False, "unknown_subject"
    if holding.status != Holding.Status.HELD:
        return False, "being_deleted" if holding.status == Holding.Status.DELETION_PENDING else holding.status
    record = (
        ConsentRecord.objects.filter(subject_id=holding.subject_id, system=system, purpose__code=purpose)
        .order_by("-given_at")
        .first()
    )
    if record is None:
        return False, "no_consent"
    if record.state == ConsentRecord.State.ACTIVE:
        return True, "consent_active"
    return False, record.state
