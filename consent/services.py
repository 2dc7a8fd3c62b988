"""State changes of the consent app. Each runs in one transaction and writes its audit event."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights import crypto
from facerights.audit import audit_record
from facerights.journal import Tombstone, journal_append
from facerights.queues import enqueue_on_commit

from .models import (
    NOTICE_ITEMS,
    AgeAttester,
    ConsentEvent,
    ConsentRecord,
    ConsentRefusal,
    DataSubject,
    Guardianship,
    Notice,
    Purpose,
    SubjectIdentifier,
    SubjectMatchReview,
    notice_wording_errors,
)
from .rules import GUARDIAN_CONSENT_AGE, birthday_in, needs_guardian_consent, normalize_identifier

if TYPE_CHECKING:
    from facerights.models import User

# A dataops.ProcessingSystem: consent may not import dataops, even for types (tests/test_architecture.py).
System: TypeAlias = Any


class ConsentError(ValidationError):
    """A consent the law does not allow, with a message a person can act on."""


@dataclass(frozen=True)
class Provenance:
    """How an act reached us (the channel, a network prefix, the browser): shown to the person, kept as proof."""

    channel: str = ConsentRecord.Channel.PORTAL
    ip_prefix: str = ""
    user_agent: str = ""


# --- Subjects and identifiers -------------------------------------------------


def _aad(subject: DataSubject, kind: str) -> bytes:
    return f"{subject.uuid}:{kind}".encode()


def subject_create(
    *,
    actor: str,
    name: str = "",
    date_of_birth: dt.date | None = None,
    identifiers: Sequence[tuple[str, str]] = (),
) -> DataSubject:
    """Create a subject with its own data key, and attach its identifiers."""
    with transaction.atomic():
        key, wrapped = crypto.data_key_new()
        subject = DataSubject(wrapped_key=wrapped, date_of_birth=date_of_birth)
        if name:
            subject.name_ciphertext = crypto.encrypt(key, name, aad=_aad(subject, "name"))
        subject.save()
        audit_record(actor=actor, action="subject.created", target=subject)
        for kind, value in identifiers:
            subject_identifier_add(actor=actor, subject=subject, kind=kind, value=value)
    return subject


def subject_date_of_birth_set(*, actor: str, subject: DataSubject, date_of_birth: dt.date) -> DataSubject:
    """Record a person's date of birth where none was known (it decides whether a guardian must consent).

    A date already recorded is never overwritten here: a different one is a question for the DPO.
    """
    with transaction.atomic():
        subject = DataSubject.objects.select_for_update().get(pk=subject.pk)
        if subject.date_of_birth is not None:
            return subject
        subject.date_of_birth = date_of_birth
        subject.save(update_fields=["date_of_birth"])
        audit_record(actor=actor, action="subject.date_of_birth_set", target=subject)
    return subject


def subject_correct(
    *, actor: str, subject: DataSubject, name: str = "", date_of_birth: dt.date | None = None
) -> DataSubject:
    """Correct a person's name or date of birth after the DPO reviewed their request (PIPL Art 46).

    A date of birth that makes the person under 14 while they hold consents they gave
    themselves is refused: those consents would stand on nothing. The DPO withdraws them, or
    records the guardian's consent, first.
    """
    with transaction.atomic():
        subject = DataSubject.objects.select_for_update().get(pk=subject.pk)
        fields = []
        if name.strip():
            subject.name_ciphertext = crypto.encrypt(_subject_key(subject), name.strip(), aad=_aad(subject, "name"))
            fields.append("name_ciphertext")
        if date_of_birth is not None and date_of_birth != subject.date_of_birth:
            if (
                needs_guardian_consent(date_of_birth, timezone.localdate())
                and ConsentRecord.objects.filter(
                    subject=subject,
                    state__in=[ConsentRecord.State.ACTIVE, ConsentRecord.State.NEEDS_RECONSENT],
                    guardian__isnull=True,
                ).exists()
            ):
                raise ValidationError(
                    {
                        "date_of_birth": _(
                            "With this date of birth the person is under 14, and they hold consents they gave "
                            "themselves: withdraw those, or record their guardian's consent, first."
                        )
                    }
                )
            subject.date_of_birth = date_of_birth
            fields.append("date_of_birth")
        if fields:
            subject.save(update_fields=fields)
            audit_record(actor=actor, action="subject.corrected", target=subject, data={"fields": fields})
    return subject


class IdentifierTaken(ValidationError):
    pass


def subject_identifier_add(*, actor: str, subject: DataSubject, kind: str, value: str) -> SubjectIdentifier:
    """Attach an identifier; safe to repeat; refuses one that belongs to someone else."""
    normalized = normalize_identifier(kind, value)
    digest = crypto.lookup_hash(kind, normalized)
    with transaction.atomic():
        existing = SubjectIdentifier.objects.select_for_update().filter(kind=kind, lookup_hash=digest).first()
        if existing is not None:
            if existing.subject_id != subject.pk:
                raise IdentifierTaken(_("This identifier belongs to another person."), code="taken")
            return existing
        key = _subject_key(subject)
        identifier = SubjectIdentifier.objects.create(
            subject=subject,
            kind=kind,
            ciphertext=crypto.encrypt(key, normalized, aad=_aad(subject, kind)),
            lookup_hash=digest,
        )
        audit_record(actor=actor, action="subject.identifier_added", target=identifier, data={"kind": kind})
    return identifier


def _subject_key(subject: DataSubject) -> bytes:
    if subject.wrapped_key is None:
        raise crypto.DecryptionError("this subject's identifiers were destroyed")
    return crypto.data_key_unwrap(subject.wrapped_key)


def subject_encrypt(subject: DataSubject, value: str, *, label: str) -> bytes:
    """Encrypt a value about the subject under their own key (unreadable once it is destroyed); `label` binds it
    to its use, so a ciphertext moved to another field does not decrypt."""
    return crypto.encrypt(_subject_key(subject), value, aad=_aad(subject, label))


def subject_decrypt(subject: DataSubject, token: bytes, *, label: str) -> str:
    return crypto.decrypt(_subject_key(subject), token, aad=_aad(subject, label))


def subject_find(*, kind: str, value: str) -> DataSubject | None:
    """The subject with this identifier, by keyed hash; None for no match or a malformed value."""
    try:
        normalized = normalize_identifier(kind, value)
    except ValidationError:
        return None
    digest = crypto.lookup_hash(kind, normalized)
    return DataSubject.objects.filter(identifiers__kind=kind, identifiers__lookup_hash=digest).first()


def subject_identifiers(subject: DataSubject) -> list[tuple[str, str]]:
    """The subject's identifiers in clear, for the subject's own eyes or a notification."""
    key = _subject_key(subject)
    return [
        (row.kind, crypto.decrypt(key, row.ciphertext, aad=_aad(subject, row.kind)))
        for row in subject.identifiers.order_by("kind", "pk")
    ]


def subject_name(subject: DataSubject) -> str:
    if not subject.name_ciphertext or subject.wrapped_key is None:
        return ""
    return crypto.decrypt(_subject_key(subject), subject.name_ciphertext, aad=_aad(subject, "name"))


def subject_unlink_user(*, actor: str, subject: DataSubject) -> DataSubject:
    """The account is closing: the person's records stay (found again at a desk), the login goes."""
    with transaction.atomic():
        if subject.user_id is None:
            return subject
        subject.user = None
        subject.save(update_fields=["user"])
        audit_record(actor=actor, action="subject.account_unlinked", target=subject)
    return subject


def subject_link_user(*, actor: str, subject: DataSubject, user: User) -> DataSubject:
    """Link an account to a subject (the portal decides when that is proven)."""
    with transaction.atomic():
        if subject.user_id == user.pk:
            return subject
        if subject.user_id is not None:
            raise ValidationError(_("This person is already linked to another account."), code="linked")
        subject.user = user
        subject.save(update_fields=["user"])
        audit_record(actor=actor, action="subject.account_linked", target=subject)
    return subject


def subject_for_report(
    *,
    actor: str,
    identifiers: dict[str, str],
    date_of_birth: dt.date | None,
    guardian_identifiers: dict[str, str] | None = None,
) -> DataSubject:
    """The person a system's report is about: found by an identifier, or created.

    Identifiers can be shared (a parent's phone given for a child), so a match is
    never merged when it may be someone else: when the dates of birth differ, when
    the identifiers are the guardian's named in the same report, or when the match is
    someone's guardian and the report does not show the same date of birth. Then a
    separate person is created (without the shared identifiers, which stay with the
    first) and the DPO is given the match to review.
    """
    with transaction.atomic():
        matched = next(
            (found for kind, value in identifiers.items() if (found := subject_find(kind=kind, value=value))), None
        )
        if matched is None:
            return subject_create(actor=actor, date_of_birth=date_of_birth, identifiers=list(identifiers.items()))
        reason = _match_doubt(matched, date_of_birth, guardian_identifiers or {})
        if reason is None:
            if date_of_birth and matched.date_of_birth is None:
                matched = subject_date_of_birth_set(actor=actor, subject=matched, date_of_birth=date_of_birth)
            return matched
        subject = subject_create(actor=actor, date_of_birth=date_of_birth)
        review = SubjectMatchReview.objects.create(subject=subject, matched=matched, reason=reason, source=actor)
        audit_record(actor=actor, action="subject.match_doubted", target=review, data={"reason": reason})
        return subject


def _match_doubt(
    matched: DataSubject, date_of_birth: dt.date | None, guardian_identifiers: dict[str, str]
) -> str | None:
    """Why the person matched by an identifier may be someone else, or None."""
    if any(subject_find(kind=kind, value=value) == matched for kind, value in guardian_identifiers.items() if value):
        return SubjectMatchReview.Reason.GUARDIAN
    if date_of_birth and matched.date_of_birth and date_of_birth != matched.date_of_birth:
        return SubjectMatchReview.Reason.DATE_OF_BIRTH
    if matched.wards.exists() and (date_of_birth is None or date_of_birth != matched.date_of_birth):
        return SubjectMatchReview.Reason.GUARDIAN
    return None


def subject_match_confirm_different(*, actor: str, review: SubjectMatchReview) -> SubjectMatchReview:
    """The DPO confirms the two are different people: they stay apart."""
    with transaction.atomic():
        review = SubjectMatchReview.objects.select_for_update().get(pk=review.pk)
        if review.state != SubjectMatchReview.State.OPEN:
            return review
        review.state = SubjectMatchReview.State.DIFFERENT
        review.decided_by = actor
        review.decided_at = timezone.now()
        review.save(update_fields=["state", "decided_by", "decided_at"])
        audit_record(actor=actor, action="subject.match_reviewed", target=review, data={"outcome": review.state})
    return review


# --- Guardians ---------------------------------------------------------------------


def guardianship_record(
    *,
    actor: str,
    ward: DataSubject,
    guardian: DataSubject,
    relationship: str,
    verified: bool = False,
    verified_by: str = "",
    proof: str = "",
) -> Guardianship:
    """Record that `guardian` acts for `ward`; `verified` once someone checked the proof.

    `verified_by` names who checked it, when it is not the actor itself (the staff
    member at a device who saw the household register, say); `proof` says what was
    seen (document type and the last digits of its number, never a scan).
    """
    with transaction.atomic():
        guardianship, created = Guardianship.objects.get_or_create(
            ward=ward, guardian=guardian, defaults={"relationship": relationship}
        )
        if created:
            audit_record(actor=actor, action="guardianship.recorded", target=guardianship)
        if verified and guardianship.verified_at is None:
            guardianship.verified_at = timezone.now()
            guardianship.verified_by = (verified_by or actor)[:128]
            guardianship.save(update_fields=["verified_at", "verified_by"])
            audit_record(
                actor=actor,
                action="guardianship.verified",
                target=guardianship,
                data={"by": guardianship.verified_by, **({"proof": proof[:100]} if proof else {})},
            )
    return guardianship


# --- Notices -------------------------------------------------------------------------


def notice_text(notice: Notice) -> dict[str, dict[str, str]]:
    """The notice's items in both languages, as they are frozen at publication."""
    items = (*NOTICE_ITEMS, "other")
    return {lang: {item: getattr(notice, f"{item}_{lang}") for item in items} for lang in ("zh", "en")}


def notice_fingerprint(snapshot: dict[str, Any]) -> str:
    """The SHA-256 of a notice's published text, as printed under it and kept with every consent to it."""
    return hashlib.sha256(
        json.dumps(snapshot, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def notice_publish(*, actor: str, notice: Notice) -> Notice:
    """Check every required item (R1), number the version and freeze the text."""
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if notice.status == Notice.Status.PUBLISHED:
            return notice
        missing = [
            f"{item}_{lang}"
            for item in NOTICE_ITEMS
            for lang in ("zh", "en")
            if not getattr(notice, f"{item}_{lang}").strip()
        ]
        errors: dict[str, str] = {field: _("Every notice must state this before it is published.") for field in missing}
        errors.update(notice_wording_errors(notice))
        if errors:
            raise ValidationError(errors, code="incomplete" if missing else "coercive")
        snapshot = notice_text(notice)
        latest = Notice.objects.filter(system_id=notice.system_id).aggregate(Max("version"))["version__max"] or 0
        notice.version = latest + 1
        notice.snapshot = snapshot
        notice.digest = notice_fingerprint(snapshot)
        notice.published_at = timezone.now()
        notice.status = Notice.Status.PUBLISHED
        # The only write to a published row: the one that publishes it.
        Notice.objects.filter(pk=notice.pk).update(
            version=notice.version,
            snapshot=notice.snapshot,
            digest=notice.digest,
            published_at=notice.published_at,
            status=notice.status,
        )
        audit_record(
            actor=actor,
            action="notice.published",
            target=notice,
            data={"system": notice.system_id, "version": notice.version, "digest": notice.digest},
        )
        notice_id = notice.pk
        enqueue_on_commit("consent.notice_changed_notify", notice_id)
    return notice


def notice_current(system: System) -> Notice | None:
    """The latest published notice of a system.

    Which notice is current is asked of the database every time (one narrow query); its text, which
    never changes once published, comes from `notice_published`.
    """
    row = (
        Notice.objects.filter(system_id=system.pk, status=Notice.Status.PUBLISHED)
        .order_by("-version")
        .values_list("pk", "digest")
        .first()
    )
    return None if row is None else notice_published(*row)


# Published notices by id, in this process: a published notice never changes (Notice.save refuses, and
# notice_publish is the only write to its row), so an entry can only be missing, never stale. A new
# version is a new row with a new id: it is read from the database the first time it is current. An
# entry is served only for the fingerprint (SHA-256 of the published text) the database gives for that
# id in the same request, so even an id used again (a rolled-back row on SQLite) cannot show another text.
_PUBLISHED: OrderedDict[int, tuple[str, tuple[Any, ...]]] = OrderedDict()
_PUBLISHED_MAX = 256
_PUBLISHED_LOCK = threading.Lock()


def notice_published(pk: int, digest: str) -> Notice:
    """The published notice with this id and fingerprint, as a fresh object (callers may not share one).

    Raises Notice.DoesNotExist when there is no such published notice.
    """
    with _PUBLISHED_LOCK:
        cached = _PUBLISHED.get(pk)
        if cached is not None:
            _PUBLISHED.move_to_end(pk)
    attnames = [field.attname for field in Notice._meta.concrete_fields]
    if cached is not None:
        db, values = cached
        notice = Notice.from_db(db, attnames, [_copied(value) for value in values])
        if digest and notice.digest == digest and notice.status == Notice.Status.PUBLISHED:
            return notice
    notice = Notice.objects.get(pk=pk, digest=digest, status=Notice.Status.PUBLISHED)
    values = tuple(getattr(notice, name) for name in attnames)
    with _PUBLISHED_LOCK:
        _PUBLISHED[pk] = (notice._state.db or "default", tuple(_copied(value) for value in values))
        _PUBLISHED.move_to_end(pk)
        while len(_PUBLISHED) > _PUBLISHED_MAX:
            _PUBLISHED.popitem(last=False)
    return notice


def _copied(value: Any) -> Any:
    """A value of a cached notice, copied where a caller could change it in place (the snapshot)."""
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


# --- Consent ---------------------------------------------------------------------------


def _record_event(
    record: ConsentRecord, kind: str, *, actor: str, at: dt.datetime, provenance: Provenance | None
) -> ConsentEvent:
    provenance = provenance or Provenance(channel="")
    return ConsentEvent.objects.create(
        record=record,
        kind=kind,
        at=at,
        actor=actor,
        channel=provenance.channel,
        ip_prefix=provenance.ip_prefix,
        user_agent=provenance.user_agent[:255],
    )


def consent_grant(
    *,
    actor: str,
    subject: DataSubject,
    system: System,
    purpose: Purpose,
    notice: Notice,
    provenance: Provenance,
    method: str = ConsentRecord.Method.SEPARATE,
    guardian: DataSubject | None = None,
    artifact_sha256: str = "",
    at: dt.datetime | None = None,
    age_attestation: AgeAttestation | None = None,
) -> ConsentRecord:
    """Record a separate consent to one system for one purpose, under its current notice.

    The person's age must be known (a date of birth) or attested by someone named
    (`age_attestation`): an unknown age is never an adult's. A guardian's consent needs
    the child's date of birth, which must show them under 14.

    Safe to repeat: the same consent again returns the existing record. A
    consent under a newer notice, or with a new signed record, replaces the older one.
    """
    at = at or timezone.now()
    with transaction.atomic():
        _check_consent(subject, system, purpose, notice, method, guardian, artifact_sha256, at)
        if subject.date_of_birth is None:
            _check_attestation(age_attestation)
        current = (
            ConsentRecord.objects.select_for_update()
            .filter(subject=subject, system=system, purpose=purpose, state__in=["active", "needs_reconsent"])
            .first()
        )
        if current is not None:
            same = current.notice_id == notice.pk and current.state == ConsentRecord.State.ACTIVE
            # A new signed record replaces a consent without one, or with another (R4): the same signed record,
            # or a consent that brings none, is the same consent again.
            if same and (not artifact_sha256 or current.artifact_sha256 == artifact_sha256):
                return current
            current.state = ConsentRecord.State.SUPERSEDED
            current.save(update_fields=["state"])
            _record_event(current, ConsentEvent.Kind.SUPERSEDED, actor=actor, at=at, provenance=provenance)
        record = ConsentRecord.objects.create(
            subject=subject,
            system=system,
            purpose=purpose,
            notice=notice,
            method=method,
            guardian=guardian,
            given_at=at,
            channel=provenance.channel,
            ip_prefix=provenance.ip_prefix,
            user_agent=provenance.user_agent[:255],
            artifact_sha256=artifact_sha256,
            **(
                {"age_attested_by": age_attestation.by.strip(), "age_attested_role": age_attestation.role}
                if age_attestation and subject.date_of_birth is None
                else {}
            ),
        )
        _record_event(record, ConsentEvent.Kind.GIVEN, actor=actor, at=at, provenance=provenance)
        audit_record(
            actor=actor,
            action="consent.given",
            target=record,
            data={"system": system.pk, "purpose": purpose.code, "notice": notice.pk, "method": method},
        )
    return record


@dataclass(frozen=True)
class AgeAttestation:
    """Someone named vouches that the person is over 14, where no date of birth is on record.

    `by` is the attester's name as they gave it; `role` an `AgeAttester` value. A
    device's flag is not an attestation: somebody must be named.
    """

    by: str
    role: str


def _check_attestation(attestation: AgeAttestation | None) -> None:
    if attestation is None or not attestation.by.strip() or attestation.role not in AgeAttester.values:
        raise ConsentError(
            _(
                "The person's age is not known: give their date of birth, or the name of who attests that "
                "they are over 14 (a staff member who saw an identity document, their guardian, or the "
                "person themself). Children under 14 need a guardian's consent."
            ),
            code="age_unknown",
        )


def _check_consent(
    subject: DataSubject,
    system: System,
    purpose: Purpose,
    notice: Notice,
    method: str,
    guardian: DataSubject | None,
    artifact_sha256: str,
    at: dt.datetime,
) -> None:
    if notice.status != Notice.Status.PUBLISHED or notice.system_id != system.pk:
        raise ConsentError(_("Consent must be given to a published notice of this system."), code="notice")
    # One query for both checks: the purpose's row if the system declares it, with its current notice's id.
    current_notice = Subquery(
        Notice.objects.filter(system_id=system.pk, status=Notice.Status.PUBLISHED).order_by("-version").values("pk")[:1]
    )
    declared = list(system.purposes.filter(pk=purpose.pk).annotate(current=current_notice).values_list("current"))
    current_id = declared[0][0] if declared else getattr(notice_current(system), "pk", None)
    if current_id != notice.pk:  # not None: `notice` itself is a published notice of this system
        raise ConsentError(_("This notice has been replaced; read the current version first."), code="notice_outdated")
    if not declared:
        raise ConsentError(_("This system does not process faces for that purpose."), code="purpose")
    minor = needs_guardian_consent(subject.date_of_birth, timezone.localdate(at))
    if minor:
        if method != ConsentRecord.Method.GUARDIAN or guardian is None:
            raise ConsentError(
                _("A child under 14 cannot consent alone: a parent or guardian must consent."), code="guardian_required"
            )
        if not Guardianship.objects.filter(
            ward=subject, guardian=guardian, verified_at__isnull=False, ended_at__isnull=True
        ).exists():
            raise ConsentError(_("Only a verified guardian of this child may consent."), code="guardian_unverified")
    elif method == ConsentRecord.Method.GUARDIAN:
        raise ConsentError(_("Guardian consent is only for children under 14."), code="guardian_not_needed")
    if system.requires_written_consent and not artifact_sha256:
        raise ConsentError(_("This system requires written consent: a signed record is missing."), code="written")


def consent_withdraw(
    *, actor: str, record: ConsentRecord, provenance: Provenance, at: dt.datetime | None = None
) -> ConsentRecord:
    """Withdraw a consent. Needs nothing but the record (R6); safe to repeat.

    Opening the deletions that follow is the caller's business (dataops).
    """
    at = at or timezone.now()
    with transaction.atomic():
        record = ConsentRecord.objects.select_for_update().get(pk=record.pk)
        if record.state in (ConsentRecord.State.WITHDRAWN, ConsentRecord.State.SUPERSEDED):
            return record
        record.state = ConsentRecord.State.WITHDRAWN
        record.withdrawn_at = at
        record.save(update_fields=["state", "withdrawn_at"])
        _record_event(record, ConsentEvent.Kind.WITHDRAWN, actor=actor, at=at, provenance=provenance)
        audit_record(actor=actor, action="consent.withdrawn", target=record, data={"system": record.system_id})
        # Journaled before commit, so a restore from an older backup withdraws it again.
        journal_append(
            [
                Tombstone(
                    kind="consent.withdrawn",
                    at=at,
                    data={
                        "subject": str(record.subject.uuid),
                        "record": record.pk,
                        "system": record.system_id,
                        "purpose": record.purpose_id,
                        "given_at": record.given_at.isoformat(),
                        "channel": provenance.channel,
                    },
                )
            ]
        )
    return record


def consents_renewal_require(*, actor: str, system_id: int, reason: str) -> int:
    """A system changed how it processes faces: every current consent to it must be given again (PIPL Art 14).

    The consents stay on record as needing renewal; the person is asked again. Returns how many.
    """
    now = timezone.now()
    with transaction.atomic():
        records = list(
            ConsentRecord.objects.select_for_update()
            .filter(system_id=system_id, state=ConsentRecord.State.ACTIVE)
            .order_by("pk")
        )
        for record in records:
            record.state = ConsentRecord.State.NEEDS_RECONSENT
            record.save(update_fields=["state"])
            ConsentEvent.objects.create(record=record, kind=ConsentEvent.Kind.RECONSENT_REQUIRED, at=now, actor=actor)
            audit_record(
                actor=actor,
                action="consent.reconsent_required",
                target=record,
                data={"system": system_id, "reason": reason},
            )
    return len(records)


def guardian_consents_come_of_age(*, actor: str = "task:ages", today: dt.date | None = None) -> list[ConsentRecord]:
    """Guardians' consents for young people who have turned 14: each now needs the person's own confirmation.

    From the day after the 14th birthday (docs/legal-readings.md) a guardian's consent
    no longer stands for the person, who may consent alone: the record moves to "needs
    renewed consent", so processing waits until they confirm it themselves. Returns
    the records flagged (the caller tells the person and the guardian). Safe to repeat.
    """
    today = today or timezone.localdate()
    now = timezone.now()
    flagged = []
    with transaction.atomic():
        for record in (
            ConsentRecord.objects.select_for_update(of=("self",))
            .filter(
                method=ConsentRecord.Method.GUARDIAN,
                state=ConsentRecord.State.ACTIVE,
                # Only those born 14 years ago or earlier; the exact day is decided below.
                subject__date_of_birth__lte=birthday_in(today.year - GUARDIAN_CONSENT_AGE, today),
            )
            .select_related("subject")
            .order_by("pk")
        ):
            born = record.subject.date_of_birth
            if born is not None and needs_guardian_consent(born, today):
                continue
            record.state = ConsentRecord.State.NEEDS_RECONSENT
            record.save(update_fields=["state"])
            ConsentEvent.objects.create(record=record, kind=ConsentEvent.Kind.RECONSENT_REQUIRED, at=now, actor=actor)
            audit_record(actor=actor, action="consent.reconsent_required", target=record, data={"reason": "age_14"})
            flagged.append(record)
    return flagged


def subject_shred(*, actor: str, subject: DataSubject) -> DataSubject:
    """Destroy a subject's identifiers and name (crypto-shredding); keep keyed hashes as tombstones.

    The keyed hashes reveal nothing without IDENTIFIER_HASH_KEY. A restore
    from an older backup loses them with the rest of the database, so the
    shredding is also written to the tombstone journal (facerights.journal),
    from which `replay_deletions` shreds the subject again. Safe to repeat.
    """
    with transaction.atomic():
        subject = DataSubject.objects.select_for_update().get(pk=subject.pk)
        if subject.shredded_at is not None:
            return subject
        subject.identifiers.update(ciphertext=b"")
        subject.wrapped_key = None
        subject.name_ciphertext = None
        subject.shredded_at = timezone.now()
        subject.save(update_fields=["wrapped_key", "name_ciphertext", "shredded_at"])
        audit_record(actor=actor, action="subject.shredded", target=subject)
        journal_append(
            [Tombstone(kind="subject.shredded", at=subject.shredded_at, data={"subject": str(subject.uuid)})]
        )
    return subject


# --- Refusals (R8) -----------------------------------------------------------------------


def consent_refuse(
    *, actor: str, subject: DataSubject, system: System, purpose: Purpose, at: dt.datetime | None = None
) -> ConsentRefusal:
    """Record a "no": the person is not asked again for this system and purpose for a while."""

    with transaction.atomic():
        refusal = ConsentRefusal.objects.create(
            subject=subject, system=system, purpose=purpose, at=at or timezone.now()
        )
        audit_record(
            actor=actor, action="consent.refused", target=subject, data={"system": system.pk, "purpose": purpose.code}
        )
    return refusal


def consent_prompt_allowed(
    *, subject: DataSubject, system: System, purpose: Purpose, now: dt.datetime | None = None
) -> bool:
    """False within the quiet period after a refusal (NDSMR Art 22(5))."""

    now = now or timezone.now()
    since = now - dt.timedelta(hours=settings.FACERIGHTS_REFUSAL_QUIET_HOURS)
    return not ConsentRefusal.objects.filter(subject=subject, system=system, purpose=purpose, at__gt=since).exists()
