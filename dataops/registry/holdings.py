"""The inventory of holdings: who is held where, recorded directly or reported by a system with the consent
it rests on, and the consent check a system makes before it processes someone (R7, R15, R30)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from consent.models import ConsentRecord, DataSubject, Notice, Purpose
from consent.services import (
    AgeAttestation,
    ConsentError,
    Provenance,
    consent_grant,
    guardianship_record,
    subject_create,
    subject_date_of_birth_set,
    subject_find,
    subject_for_report,
    subject_identifier_add,
)
from consent.sessions import consent_token_redeem
from consent.written import Signature, Where, consent_give_signed_if_required
from facerights import crypto
from facerights.audit import audit_batch, audit_record
from facerights.db import insert_columns

from .models import Holding, ProcessingSystem
from .services import system_new_processing_refusal

LIVE = (  # as the constraint counts
    Holding.Status.ACTIVE,
    Holding.Status.RETAINED,
    Holding.Status.DELETION_PENDING,
    Holding.Status.RESTRICTED,
)


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
        if Holding.objects.filter(system=system, subject=subject, status__in=LIVE).exists():
            raise ValidationError(
                _("The system already holds this person under another key: report that key, or delete it first."),
                code="already_held",
            )
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
    # The separate consent to sending facial data over the internet, given on
    # the same notice: required by a system that transmits (Measures Art 8).
    transmission: bool = False
    # Without a date of birth: who vouched that the person is over 14 (a device alone never does).
    age_attestation: AgeAttestation | None = None
    # For a child: the staff member who checked the proof that the guardian is the guardian.
    guardian_check: GuardianCheck | None = None


@dataclass(frozen=True)
class GuardianCheck:
    """A named staff member checked the document proving the relationship (户口簿, birth certificate)."""

    relationship: str  # a Guardianship.Relationship value
    checked_by: str


def _report_checks(system: ProcessingSystem, data_kind: str) -> None:
    """What any enrolment report needs of the system: it may take someone new, and keeps what it registered."""
    refusal = system_new_processing_refusal(system)
    if refusal is not None:
        raise refusal
    keeps_image = data_kind in (Holding.DataKind.IMAGE, Holding.DataKind.BOTH)
    keeps_template = data_kind in (Holding.DataKind.TEMPLATE, Holding.DataKind.BOTH)
    if (keeps_image and not system.keeps_image) or (keeps_template and not system.keeps_template):
        # What the notice and the filing say the system keeps is what it may keep (Measures Art 4).
        raise ValidationError(
            _("This system is registered as not keeping this kind of facial data (data_kind): ask the DPO."),
            code="data_kind_not_registered",
        )


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
    if system.internet_transmission and not consent.transmission:
        raise ValidationError(
            _(
                "This system sends facial data over the internet: the person's separate consent to that "
                "is required (consent.transmission) (Measures Art 8)."
            ),
            code="transmission_consent",
        )
    _report_checks(system, data_kind)
    if system.consent_at_capture:
        raise ValidationError(
            _(
                "This system asks consent through FaceRights: report the enrolment with the consent_token the "
                "person's answer gave, not with consent evidence of its own."
            ),
            code="consent_token_required",
        )
    identifiers = {kind: value for kind, value in identifiers.items() if value}
    if not identifiers:
        raise ValidationError(_("Give at least one identifier (phone, email or external id)."), code="identifiers")
    with transaction.atomic():
        # A purpose the system declares; consent to transmission is consent.transmission, never the purpose.
        purpose = system.purposes.exclude(code=Purpose.TRANSMISSION).filter(code=consent.purpose).first()
        if purpose is None:
            raise ValidationError(_("This system declares no purpose with that code."), code="purpose")
        notice = system.notices.filter(status=Notice.Status.PUBLISHED, version=consent.notice_version).first()
        if notice is None:
            raise ValidationError(_("This system has no published notice with that version."), code="notice")
        guardian_identifiers = {k: v for k, v in (consent.guardian_identifiers or {}).items() if v}
        guardian = _guardian_for_report(actor, guardian_identifiers, consent.guardian_check)
        # The system's own key names one person for good: a report under a key already held is about them.
        known = Holding.objects.filter(system=system, subject_key=subject_key).select_related("subject").first()
        subject = (
            known.subject
            if known is not None
            else subject_for_report(
                actor=actor,
                identifiers=identifiers,
                date_of_birth=date_of_birth,
                guardian_identifiers=guardian_identifiers,
            )
        )
        if guardian is not None and consent.guardian_check is not None:
            guardianship_record(
                actor=actor,
                ward=subject,
                guardian=guardian,
                relationship=consent.guardian_check.relationship,
                verified=True,
                verified_by=consent.guardian_check.checked_by,
            )
        try:
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
                age_attestation=consent.age_attestation,
            )
        except ConsentError as error:
            if error.code == "guardian_unverified":  # known identifiers, not this child's guardian: as if unknown
                raise _guardian_unverified() from None
            raise
        if system.internet_transmission:
            transmission = Purpose.objects.get(code=Purpose.TRANSMISSION)  # created by a migration
            consent_grant(
                actor=actor,
                subject=subject,
                system=system,
                purpose=transmission,
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


def holding_report_consented(
    *,
    system: ProcessingSystem,
    subject_key: str,
    data_kind: str,
    enrolled_at: dt.datetime,
    identifiers: dict[str, str],
    purpose_code: str,
    consent_token: str,
) -> Holding:
    """Record an enrolment whose consent the person gave on FaceRights' own page (consent/sessions.py).

    The token proves it: issued for this system, purpose and key, once. Nothing is taken on the
    system's word; the token is spent only if the whole report is recorded.
    """
    actor = f"system:{system.pk}"
    _report_checks(system, data_kind)
    with transaction.atomic(), audit_batch():  # the identifiers' and the holding's events: one write
        purpose = system.purposes.exclude(code=Purpose.TRANSMISSION).filter(code=purpose_code).first()
        if purpose is None:
            raise ValidationError(_("This system declares no purpose with that code."), code="purpose")
        session = consent_token_redeem(system=system, purpose=purpose, subject_key=subject_key, token=consent_token)
        subject, record = session.subject, session.record
        if subject is None or record is None or record.state != ConsentRecord.State.ACTIVE:
            raise ValidationError(
                _("The person's consent is no longer current (withdrawn or replaced): do not enrol them."),
                code="consent_not_current",
            )
        if (
            system.internet_transmission
            and not ConsentRecord.objects.filter(
                subject=subject, system=system, purpose__code=Purpose.TRANSMISSION, state=ConsentRecord.State.ACTIVE
            ).exists()
        ):  # given on the page with the purpose's (consent/sessions.py), unless withdrawn since
            raise ValidationError(
                _(
                    "The person's separate consent to sending their face over the internet is not current "
                    "(Measures Art 8): do not enrol them."
                ),
                code="transmission_consent",
            )
        known = Holding.objects.filter(system=system, subject_key=subject_key).exclude(subject=subject).exists()
        if known:
            raise ValidationError(_("This key already names another person in this system."), code="subject_key")
        for kind, value in identifiers.items():
            if value and subject_find(kind=kind, value=value) is None:
                subject_identifier_add(actor=actor, subject=subject, kind=kind, value=value)
        return holding_record(
            actor=actor,
            subject=subject,
            system=system,
            subject_key=subject_key,
            data_kind=data_kind,
            consent=record,
            enrolled_at=enrolled_at,
        )


def _guardian_for_report(actor: str, identifiers: dict[str, str], check: GuardianCheck | None) -> DataSubject | None:
    """The guardian a child's enrolment names: known already, or new when a staff member checked the proof."""
    if not identifiers:
        return None
    guardian = next((g for kind, value in identifiers.items() if (g := subject_find(kind=kind, value=value))), None)
    if guardian is None and check is not None:
        guardian = subject_create(actor=actor, identifiers=list(identifiers.items()))
    if guardian is None:
        raise _guardian_unverified()
    return guardian


def _guardian_unverified() -> ValidationError:
    """One answer whether the guardian's identifiers belong to nobody or to someone who is not this child's
    verified guardian: a vendor never learns whether a phone or email is known to the company."""
    return ValidationError(
        _(
            "The guardian is not verified for this child: name the staff member who checked the proof of the "
            "relationship (guardian_check), or have the guardian verified first."
        ),
        code="guardian",
    )


def consent_give(
    *,
    actor: str,
    subject: DataSubject,
    system: ProcessingSystem,
    purpose: Purpose,
    notice: Notice,
    provenance: Provenance,
    guardian: DataSubject | None = None,
    date_of_birth: dt.date | None = None,
    signature: Signature | None = None,
) -> ConsentRecord:
    """A person's consent given on a FaceRights page, if the system may take anyone new now.

    Raises ConsentError with the reason otherwise (awaiting reassessment, paused,
    not active): consent to processing that may not start is not asked for. A date
    of birth given on the page is recorded first, where none was known, so the
    guardian rule applies to it. A system that needs written consent needs the
    person's `signature` of the text the page showed (R4).
    """
    refusal = system_new_processing_refusal(system)
    if refusal is not None:
        raise ConsentError(refusal.messages[0], code=refusal.code)
    with transaction.atomic():
        if date_of_birth is not None and subject.date_of_birth is None:
            subject = subject_date_of_birth_set(actor=actor, subject=subject, date_of_birth=date_of_birth)
        return consent_give_signed_if_required(
            actor=actor,
            subject=subject,
            system=system,
            purpose=purpose,
            notice=notice,
            provenance=provenance,
            signature=signature,
            where=Where.PORTAL,
            guardian=guardian,
        )


# Every answer the consent check gives, in words for the DPO (systems get the code).
CHECK_REASONS = {
    "consent_active": gettext_lazy("consent given"),
    "system_not_active": gettext_lazy("the system is not active"),
    "purpose_not_declared": gettext_lazy("a purpose the system does not declare"),
    "unknown_subject": gettext_lazy("a key the system never reported"),
    "being_deleted": gettext_lazy("deletion under way"),
    "retained": gettext_lazy("kept for a legal reason only"),
    "deleted": gettext_lazy("deleted"),
    "reassessment_pending": gettext_lazy("enrolled after a change that awaits reassessment"),
    "no_consent": gettext_lazy("no consent"),
    "withdrawn": gettext_lazy("consent withdrawn"),
    "needs_reconsent": gettext_lazy("consent must be given again"),
    "superseded": gettext_lazy("consent replaced"),
    "no_transmission_consent": gettext_lazy("no consent to internet transmission"),
}


def holdings_restrict(
    *, actor: str, subject: DataSubject, systems: list[ProcessingSystem], restricted: bool
) -> list[Holding]:
    """Restrict the person's holdings in these systems (PIPL Art 44), or lift the restriction.

    A restricted holding is kept and processed by no one: the consent check answers no with
    `restricted` at once. Lifting it returns it to use; its consent must still be active for
    the check to say yes.
    """
    source, target = (
        (Holding.Status.ACTIVE, Holding.Status.RESTRICTED)
        if restricted
        else (Holding.Status.RESTRICTED, Holding.Status.ACTIVE)
    )
    with transaction.atomic():
        changed = list(Holding.objects.select_for_update().filter(subject=subject, system__in=systems, status=source))
        Holding.objects.filter(pk__in=[h.pk for h in changed]).update(status=target)
        audit_record(
            actor=actor,
            action="holding.restricted" if restricted else "holding.restriction_lifted",
            target=subject,
            data={"holdings": [h.pk for h in changed]},
        )
    return changed


def consent_check(*, system: ProcessingSystem, subject_key: str, purpose: str) -> tuple[bool, str]:
    """May the system process this person for this purpose now? Answers no unless every fact says yes.

    A system that is not active (a draft, suspended, retired) may process no one.
    While a system awaits reassessment, no one enrolled since the change may be
    processed. A system that sends faces over the internet needs the person's
    separate consent to that as well as to the purpose.
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
    if system.reassessment_since is not None and holding.enrolled_at >= system.reassessment_since:
        return False, "reassessment_pending"
    codes = {purpose, Purpose.TRANSMISSION} if system.internet_transmission else {purpose}
    latest: dict[str, str] = {}
    for code, state in (
        ConsentRecord.objects.filter(subject_id=holding.subject_id, system=system, purpose__code__in=codes)
        .order_by("-given_at")
        .values_list("purpose__code", "state")
    ):
        latest.setdefault(code, state)
    if purpose not in latest:
        return False, "no_consent"
    if latest[purpose] != ConsentRecord.State.ACTIVE:
        return False, latest[purpose]
    if system.internet_transmission and latest.get(Purpose.TRANSMISSION) != ConsentRecord.State.ACTIVE:
        return False, "no_transmission_consent"
    return True, "consent_active"


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
        wrapped = crypto.data_key_new()[1]  # no identifiers will ever be encrypted under it
        people = insert_columns(
            DataSubject, len(fresh), {"wrapped_key": wrapped, "created_at": timezone.now(), "is_synthetic": False}
        )
        insert_columns(
            Holding,
            len(fresh),
            {
                "subject": [pk for (pk,) in people],
                "system": system.pk,
                "subject_key": fresh,
                "data_kind": Holding.DataKind.TEMPLATE,
                "enrolled_at": enrolled_at,
                "retention_until": retention_until,
                "status": Holding.Status.ACTIVE,
            },
            returning=(),
        )
        audit_record(actor=actor, action="holdings.loaded", target=system, data={"count": len(fresh)})
    return len(fresh)
