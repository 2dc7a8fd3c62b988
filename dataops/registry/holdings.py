"""The inventory of holdings: who is held where, recorded directly or reported by a system with the consent
it rests on, and the consent check a system makes before it processes someone (R7, R15, R30)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentRecord, DataSubject, Notice, Purpose
from consent.services import Provenance, consent_grant, subject_create, subject_date_of_birth_set, subject_find
from facerights import crypto
from facerights.audit import audit_record
from facerights.db import bulk_insert

from .models import Holding, ProcessingSystem


def holding_record(
    *,
    actor: str,
    subject: DataSubject,
    system: ProcessingSystem,
    subject_key: str,
    data_kind: str,
    consent: ConsentRecord | None,
    enrolled_at: dt.datetime | None = None,
) -> Holding:
    """Record that a system holds a subject's facial data under its pseudonymous key (safe to repeat)."""
    enrolled_at = enrolled_at or timezone.now()
    with transaction.atomic():
        existing = Holding.objects.filter(system=system, subject_key=subject_key).first()
        if existing is not None:
            if existing.subject_id != subject.pk:
                raise ValidationError(_("The system already uses this key for another person."), code="key_taken")
            return existing
        if consent is not None and (consent.subject_id != subject.pk or consent.system_id != system.pk):
            raise ValidationError(_("The consent belongs to another person or system."), code="consent_mismatch")
        holding = Holding.objects.create(
            subject=subject,
            system=system,
            subject_key=subject_key,
            data_kind=data_kind,
            consent=consent,
            enrolled_at=enrolled_at,
            retention_until=timezone.localdate(enrolled_at) + dt.timedelta(days=system.retention_days),
        )
        audit_record(actor=actor, action="holding.recorded", target=holding, data={"system": system.pk})
    return holding


@dataclass
class ConsentReport:
    purpose: str
    notice_version: int
    given_at: dt.datetime
    method: str
    channel: str = ConsentRecord.Channel.DEVICE
    artifact_sha256: str = ""
    guardian_identifiers: dict[str, str | None] | None = None


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
    if system.enrolments_paused:
        raise ValidationError(
            _("This system's enrolments are paused by the data-protection officer: it may not enrol anyone now."),
            code="enrolments_paused",
        )
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
            subject_date_of_birth_set(actor=actor, subject=subject, date_of_birth=date_of_birth)
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
            provenance=Provenance(channel=consent.channel),
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
    """May the system process this person for this purpose now? Answers no unless a current consent says yes.

    A system that is not active (a draft, suspended, retired) may process no one.
    """
    if system.status != ProcessingSystem.Status.ACTIVE:
        return False, "system_not_active"
    if not system.purposes.filter(code=purpose).exists():
        return False, "purpose_not_declared"
    holding = Holding.objects.filter(system=system, subject_key=subject_key).first()
    if holding is None:
        return False, "unknown_subject"
    if holding.status != Holding.Status.ACTIVE:
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


LOAD_CHUNK = 10_000


def holdings_load_pseudonymous(
    *, actor: str, system: ProcessingSystem, keys: list[str], enrolled_at: dt.datetime, retention_until: dt.date
) -> int:
    """Load a system's existing enrolments known only by its keys (a go-live, the demo), in bulk.

    Each key becomes a person without identifiers, counted for the filing
    threshold, until they link an account. One audit event records the load.
    Keys the system already uses are skipped, so loading twice adds nothing.
    """
    with transaction.atomic():
        taken = set(Holding.objects.filter(system=system, subject_key__in=keys).values_list("subject_key", flat=True))
        fresh = [key for key in keys if key not in taken]
        if not fresh:
            return 0
        now = timezone.now()
        wrapped = crypto.data_key_new()[1]  # no identifiers will ever be encrypted under it
        people = [uuid.uuid4() for _ in fresh]
        bulk_insert(
            DataSubject,
            ["uuid", "wrapped_key", "created_at", "is_synthetic"],
            [(person, wrapped, now, False) for person in people],
        )
        pk_of: dict[uuid.UUID, int] = {}
        for start in range(0, len(people), LOAD_CHUNK):
            pk_of.update(
                DataSubject.objects.filter(uuid__in=people[start : start + LOAD_CHUNK]).values_list("uuid", "pk")
            )
        subject_ids = [pk_of[person] for person in people]
        bulk_insert(
            Holding,
            ["subject", "system", "subject_key", "data_kind", "enrolled_at", "retention_until", "status"],
            [
                (pk, system.pk, key, Holding.DataKind.TEMPLATE, enrolled_at, retention_until, Holding.Status.ACTIVE)
                for pk, key in zip(subject_ids, fresh, strict=True)
            ],
        )
        audit_record(actor=actor, action="holdings.loaded", target=system, data={"count": len(fresh)})
    return len(fresh)
