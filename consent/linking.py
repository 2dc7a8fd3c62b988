"""Linking an account to a subject's data, only through something verified.

Three ways (PRODUCT.md, journey 1): a phone or email verified in this
account that matches the subject's keyed hash; a one-time enrolment code
shown or printed at enrolment; or an identity document a DPO checks. An
unverified identifier reveals nothing: every failure reads the same.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights import crypto
from facerights.audit import audit_record

from .models import DataSubject, DeceasedRepresentation, EnrolmentCode, IdentityCheck
from .services import subject_find, subject_link_user

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LIFETIME = dt.timedelta(days=30)


class LinkError(ValidationError):
    pass


def _normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _code_hash(code: str) -> str:
    return crypto.lookup_hash("enrolment-code", _normalize_code(code))


def enrolment_code_issue(*, actor: str, subject: DataSubject, valid_for: dt.timedelta = CODE_LIFETIME) -> str:
    """A fresh code for the subject, returned once in clear (it is stored only as a keyed hash)."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(10))
    with transaction.atomic():
        code = EnrolmentCode.objects.create(
            subject=subject, code_hash=_code_hash(raw), expires_at=timezone.now() + valid_for
        )
        audit_record(actor=actor, action="enrolment_code.issued", target=code)
    return f"{raw[:5]}-{raw[5:]}"


def _link(actor: str, user, subject: DataSubject, how: str) -> DataSubject:
    current = getattr(user, "data_subject", None)
    if current is not None and current.pk != subject.pk:
        raise LinkError(
            _("This account is already linked to other records. Ask the data-protection officer."), code="other_subject"
        )
    if subject.user_id is not None and subject.user_id != user.pk:
        raise LinkError(
            _("These records are linked to another account. Ask the data-protection officer."), code="other_account"
        )
    subject = subject_link_user(actor=actor, subject=subject, user=user)
    audit_record(actor=actor, action="subject.linked", target=subject, data={"how": how})
    return subject


def subject_link_by_code(*, actor: str, user, code: str) -> DataSubject:
    with transaction.atomic():
        row = (
            EnrolmentCode.objects.select_for_update()
            .filter(code_hash=_code_hash(code))
            .select_related("subject")
            .first()
        )
        if row is None or row.used_at is not None or row.expires_at <= timezone.now():
            raise LinkError(_("This code is not valid, has expired or was already used."), code="code")
        subject = _link(actor, user, row.subject, "enrolment_code")
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
    return subject


def subject_link_by_verified(*, actor: str, user, identifiers: list[tuple[str, str]]) -> DataSubject | None:
    """Link through identifiers this account has verified; None when none matches anyone."""
    found = {s.pk: s for kind, value in identifiers if (s := subject_find(kind=kind, value=value)) is not None}
    if not found:
        return None
    if len(found) > 1:
        raise LinkError(
            _("Your verified phone and email belong to different records. Ask the data-protection officer."),
            code="ambiguous",
        )
    with transaction.atomic():
        return _link(actor, user, next(iter(found.values())), "verified_identifier")


# --- Identity checks by a DPO ---------------------------------------------------------------


def _scan_aad(check: IdentityCheck) -> bytes:
    return f"facerights:identity-scan:{check.user_id}:{check.scan_sha256}".encode()


def identity_check_submit(*, actor: str, user, scan: bytes, content_type: str, note: str = "") -> IdentityCheck:
    """Keep an identity-document scan, encrypted, until a DPO reviews it."""
    with transaction.atomic():
        check = IdentityCheck(user=user, scan_content_type=content_type, scan_sha256=hashlib.sha256(scan).hexdigest())
        check.scan_ciphertext = crypto.blob_encrypt(scan, aad=_scan_aad(check))
        if note:
            check.note_ciphertext = crypto.secret_encrypt(note, aad=_scan_aad(check) + b":note")
        check.save()
        audit_record(actor=actor, action="identity_check.submitted", target=check, data={"content_type": content_type})
    return check


def identity_check_scan(check: IdentityCheck) -> bytes:
    if check.scan_ciphertext is None:
        raise LinkError(_("The scan was destroyed when the review ended."), code="destroyed")
    return crypto.blob_decrypt(check.scan_ciphertext, aad=_scan_aad(check))


def identity_check_note(check: IdentityCheck) -> str:
    if not check.note_ciphertext:
        return ""
    return crypto.secret_decrypt(check.note_ciphertext, aad=_scan_aad(check) + b":note")


def _close(actor: str, check: IdentityCheck, state: str, reason: str) -> IdentityCheck:
    check.state = state
    check.decision_reason = reason[:255]
    check.reviewed_by = actor
    check.reviewed_at = timezone.now()
    check.scan_ciphertext = None  # the review is over: the scan is destroyed
    check.note_ciphertext = None
    check.save()
    audit_record(actor=actor, action=f"identity_check.{state}", target=check)
    return check


def identity_check_approve(*, actor: str, check: IdentityCheck, subject: DataSubject) -> IdentityCheck:
    with transaction.atomic():
        check = IdentityCheck.objects.select_for_update().select_related("user").get(pk=check.pk)
        if check.state != IdentityCheck.State.PENDING:
            return check
        _link(actor, check.user, subject, "identity_check")
        check.subject = subject
        return _close(actor, check, IdentityCheck.State.APPROVED, "")


def identity_check_reject(*, actor: str, check: IdentityCheck, reason: str) -> IdentityCheck:
    if not reason.strip():
        raise LinkError(_("Tell the person why the check was rejected."), code="reason")
    with transaction.atomic():
        check = IdentityCheck.objects.select_for_update().get(pk=check.pk)
        if check.state != IdentityCheck.State.PENDING:
            return check
        return _close(actor, check, IdentityCheck.State.REJECTED, reason)


# --- A deceased person's close relative (PIPL Art 49) -----------------------------------------


def _proof_aad(claim: DeceasedRepresentation) -> bytes:
    return f"facerights:deceased-proof:{claim.relative_id}:{claim.proof_sha256}".encode()


def deceased_claim_submit(
    *, actor: str, relative: DataSubject, relationship: str, proof: bytes, content_type: str, note: str
) -> DeceasedRepresentation:
    """Keep the relative's proof, encrypted, until a DPO reviews it."""
    if not note.strip():
        raise LinkError(_("Say who the deceased person was: their name, and the phone or email they used."))
    with transaction.atomic():
        claim = DeceasedRepresentation(
            relative=relative,
            relationship=relationship,
            proof_content_type=content_type,
            proof_sha256=hashlib.sha256(proof).hexdigest(),
        )
        claim.proof_ciphertext = crypto.blob_encrypt(proof, aad=_proof_aad(claim))
        claim.note_ciphertext = crypto.secret_encrypt(note.strip(), aad=_proof_aad(claim) + b":note")
        claim.save()
        audit_record(actor=actor, action="deceased.claim_submitted", target=claim, data={"relationship": relationship})
    return claim


def deceased_claim_proof(claim: DeceasedRepresentation) -> bytes:
    if claim.proof_ciphertext is None:
        raise LinkError(_("The proof was destroyed when the review ended."), code="destroyed")
    return crypto.blob_decrypt(claim.proof_ciphertext, aad=_proof_aad(claim))


def deceased_claim_note(claim: DeceasedRepresentation) -> str:
    if not claim.note_ciphertext:
        return ""
    return crypto.secret_decrypt(claim.note_ciphertext, aad=_proof_aad(claim) + b":note")


def _claim_close(actor: str, claim: DeceasedRepresentation, state: str, reason: str) -> DeceasedRepresentation:
    claim.state, claim.decision_reason = state, reason[:255]
    claim.reviewed_by, claim.reviewed_at = actor, timezone.now()
    claim.proof_ciphertext = None  # the review is over: the proof is destroyed,
    claim.note_ciphertext = None  # and the relative's description with it (the record, if found, is named)
    claim.save()
    audit_record(actor=actor, action=f"deceased.claim_{state}", target=claim)
    return claim


def deceased_claim_approve(
    *, actor: str, claim: DeceasedRepresentation, deceased: DataSubject
) -> DeceasedRepresentation:
    """The DPO saw the proof and found the deceased person's record: the relative may act for them."""
    if deceased.pk == claim.relative_id:
        raise LinkError(_("The deceased person's record cannot be the relative's own."), code="same")
    with transaction.atomic():
        claim = DeceasedRepresentation.objects.select_for_update().get(pk=claim.pk)
        if claim.state != DeceasedRepresentation.State.PENDING:
            return claim
        claim.deceased = deceased
        return _claim_close(actor, claim, DeceasedRepresentation.State.APPROVED, "")


def deceased_claim_reject(*, actor: str, claim: DeceasedRepresentation, reason: str) -> DeceasedRepresentation:
    """Refused, with the reason the relative reads (not proven, or the deceased arranged otherwise)."""
    if not reason.strip():
        raise LinkError(_("Tell the relative why the request was rejected."), code="reason")
    with transaction.atomic():
        claim = DeceasedRepresentation.objects.select_for_update().get(pk=claim.pk)
        if claim.state != DeceasedRepresentation.State.PENDING:
            return claim
        return _claim_close(actor, claim, DeceasedRepresentation.State.REJECTED, reason)
