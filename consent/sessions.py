"""Consent where the face is captured: a session a device opens, answered on the person's phone or a desk tablet.

1. The device opens a session for one of its purposes and the person's key (its own pseudonymous
   key for them); FaceRights answers with a short-lived address (and its QR code) to show.
2. The person reads the current published notice there, gives their date of birth (an unknown age
   is never an adult's: R5) and answers on one screen, nothing ticked for them: consent, the
   non-face alternative, or no (R3, R9).
3. The device reads the outcome; a consent comes with a signed token, bound to the system, the
   purpose, the notice version and the key, that its enrolment report must carry, and that works
   once (a conditional update: two reports racing with one token cannot both pass).

A "no" or the alternative is remembered for the quiet period: the device is told not to ask again
(R8), and the person keeps the service through the alternative.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights import crypto
from facerights.audit import audit_batch, audit_record
from facerights.sms import mask_phone, sms_send

from .models import ConsentRefusal, ConsentSession, DataSubject, Guardianship, Notice, Purpose
from .rules import needs_guardian_consent, normalize_phone
from .services import (
    ConsentError,
    Provenance,
    System,
    consent_grant,
    consent_refuse,
    notice_published,
    subject_create,
    subject_date_of_birth_set,
)
from .written import Signature, Where, consent_give_signed_if_required, signature_check

SALT = "facerights.consent-token"  # a namespace for the signature, not a secret


class Answer:
    CONSENT = "consent"
    ALTERNATIVE = "alternative"
    DECLINE = "decline"
    ALL = (CONSENT, ALTERNATIVE, DECLINE)


def _digest(page_token: str) -> str:
    return hashlib.sha256(page_token.encode()).hexdigest()


def consent_session_open(
    *,
    actor: str,
    system: System,
    purpose: Purpose,
    subject_key: str,
    language: str = "zh-hans",
    subject: DataSubject | None = None,
    now: dt.datetime | None = None,
) -> tuple[ConsentSession, str]:
    """Open a session and return it with its page token (the address's secret part, given out once).

    `subject` is the person the system already holds under this key, if any (the caller knows its
    holdings; consent does not). The system's purpose must be one it declares, and it must have a
    published notice: nobody is asked to consent to something they cannot read.
    """
    now = now or timezone.now()
    # One query for both checks: the purpose's row, if the system declares it, with the current notice's id.
    declared = (
        system.purposes.filter(pk=purpose.pk)
        .exclude(code=Purpose.TRANSMISSION)
        .annotate(current_notice=Subquery(_current_notices(system.pk).values("pk")[:1]))
        .values_list("current_notice", flat=True)
    )
    found = list(declared)
    if not found:
        raise ConsentError(_("This system declares no purpose with that code."), code="purpose")
    if found[0] is None:
        raise ConsentError(_("This system has no published notice: nobody can be asked yet."), code="notice")
    page_token = secrets.token_urlsafe(24)
    with transaction.atomic():
        session = ConsentSession.objects.create(
            page_token_sha256=_digest(page_token),
            system=system,
            purpose=purpose,
            subject_key=subject_key,
            language="en" if language.startswith("en") else "zh-hans",
            subject=subject,
            created_at=now,
            expires_at=now + dt.timedelta(minutes=settings.FACERIGHTS_CONSENT_SESSION_MINUTES),
        )
        audit_record(actor=actor, action="consent_session.opened", target=session, data={"purpose": purpose.code})
    return session, page_token


_SESSION_FIELDS = tuple(field.name for field in ConsentSession._meta.concrete_fields)
# What the page and the answer read of the session's system: not the other forty columns of its row.
SYSTEM_FIELDS = (
    "system__id",
    "system__name_zh",
    "system__name_en",
    "system__internet_transmission",
    "system__requires_written_consent",
    "system__alternatives",
)


def _current_notices(system_id: Any) -> QuerySet[Notice]:
    return Notice.objects.filter(system_id=system_id, status=Notice.Status.PUBLISHED).order_by("-version")


def _with_current_notice(sessions: QuerySet[ConsentSession]) -> QuerySet[ConsentSession]:
    """Each session with the id and version of its system's current notice, read in the same query."""
    current = _current_notices(OuterRef("system_id"))
    return sessions.annotate(
        current_notice_id=Subquery(current.values("pk")[:1]),
        current_notice_digest=Subquery(current.values("digest")[:1]),
    )


def consent_session_for_page(page_token: str) -> ConsentSession | None:
    """The session a page address names, or None (unknown, or expired unanswered).

    One query: the session, its purpose, the notice it was answered under, the few columns of its
    system the page shows, and which notice is current now (`consent_session_notice`).
    """
    session = (
        _with_current_notice(ConsentSession.objects.select_related("system", "purpose", "notice"))
        .only(*_SESSION_FIELDS, *SYSTEM_FIELDS, "purpose", "notice")
        .filter(page_token_sha256=_digest(page_token))
        .first()
    )
    if session is None or (session.state == ConsentSession.State.OPEN and session.expires_at <= timezone.now()):
        return None
    return session


def consent_session_notice(session: ConsentSession) -> Notice | None:
    """The current published notice of the session's system, as read with the session; None if it has none."""
    notice_id = getattr(session, "current_notice_id", None)
    if notice_id is None:
        return None
    return notice_published(notice_id, session.current_notice_digest)  # type: ignore[attr-defined]


def consent_session_answer(
    *,
    session: ConsentSession,
    answer: str,
    date_of_birth: dt.date | None,
    notice_version: int,
    provenance: Provenance,
    signature: Signature | None = None,
    transmission: bool = False,
    now: dt.datetime | None = None,
) -> ConsentSession:
    """Record the person's answer, once. Raises ConsentError with a reason the page shows.

    A consent needs the date of birth: under 14 it is not the child's to give, so nothing is
    recorded and the session says a guardian must consent. The notice must be the one the page
    showed: if the company published a new one meanwhile, the person reads that one first. A
    system that needs written consent needs the person's `signature` of the text shown (R4); one
    that sends faces over the internet, the person's separate consent to that too (`transmission`:
    Measures Art 8), recorded as a consent of its own.
    """
    now = now or timezone.now()
    if answer not in Answer.ALL:
        raise ConsentError(_("Choose one of the three answers."), code="answer")
    with transaction.atomic(), audit_batch():  # the answer's events: one write, each in its own chain
        # Only the session row is locked (of self): a lock on the system and purpose rows joined in would make
        # every answer for the same kiosk wait on, and deadlock with, the others. Which notice is current is read
        # in the same query; a consent then checks it again in a statement of its own (consent_grant), so a
        # notice published while this waited for the lock is still caught.
        session = (
            _with_current_notice(
                ConsentSession.objects.select_for_update(of=("self",)).select_related("system", "purpose")
            )
            .only(*_SESSION_FIELDS, *SYSTEM_FIELDS, "purpose")
            .get(pk=session.pk)
        )
        if session.state != ConsentSession.State.OPEN:
            raise ConsentError(_("This question has been answered already."), code="answered")
        if session.expires_at <= now:
            raise ConsentError(_("This page has expired: ask for a new one at the device."), code="expired")
        notice = consent_session_notice(session)
        if notice is None or notice.version != notice_version:
            raise ConsentError(
                _("The notice changed while you were reading it: read the current one and answer again."),
                code="notice_changed",
            )
        session.notice = notice
        session.answered_at = now
        actor = f"consent_session:{session.public_id}"
        if answer == Answer.CONSENT:
            _consent(session, actor, notice, date_of_birth, provenance, signature, transmission, now)
        else:
            session.state = (
                ConsentSession.State.ALTERNATIVE if answer == Answer.ALTERNATIVE else ConsentSession.State.DECLINED
            )
            if session.subject is not None:  # known: the portal and every other device respect the "no" too
                consent_refuse(
                    actor=actor, subject=session.subject, system=session.system, purpose=session.purpose, at=now
                )
        session.save(update_fields=["state", "notice", "answered_at", "subject", "record"])
        audit_record(actor=actor, action=f"consent_session.{session.state}", target=session, data={"notice": notice.pk})
    return session


def _consent(
    session: ConsentSession,
    actor: str,
    notice: Notice,
    date_of_birth: dt.date | None,
    provenance: Provenance,
    signature: Signature | None,
    transmission: bool,
    now: dt.datetime,
) -> None:
    if date_of_birth is None:
        raise ConsentError(_("Give your date of birth: it decides whether a guardian must consent."), code="age")
    known = session.subject
    if known is not None and known.date_of_birth is not None and known.date_of_birth != date_of_birth:
        raise ConsentError(
            _("That date of birth is not the one on record for you: ask the staff, or use the alternative."),
            code="date_of_birth_mismatch",
        )
    if needs_guardian_consent(date_of_birth, timezone.localdate(now)):
        session.state = ConsentSession.State.GUARDIAN_NEEDED  # nothing is recorded for a child (R5)
        return
    _transmission_check(session, transmission)
    subject = known or subject_create(actor=actor, date_of_birth=date_of_birth)
    if subject.date_of_birth is None:
        subject = subject_date_of_birth_set(actor=actor, subject=subject, date_of_birth=date_of_birth)
    session.subject = subject
    session.record = consent_give_signed_if_required(
        actor=actor,
        subject=subject,
        system=session.system,
        purpose=session.purpose,
        notice=notice,
        provenance=provenance,
        signature=signature,
        where=Where.DEVICE,
        at=now,
    )
    _transmission_consent(session, actor, provenance, now)
    session.state = ConsentSession.State.CONSENTED


def _transmission_check(session: ConsentSession, transmission: bool) -> None:
    if session.system.internet_transmission and not transmission:
        raise ConsentError(
            _(
                "This system sends facial information over the internet: it may use yours only with your separate "
                "consent to that as well. Tick that box too, or choose the alternative."
            ),
            code="transmission_consent",
        )


def _transmission_consent(session: ConsentSession, actor: str, provenance: Provenance, now: dt.datetime) -> None:
    """The separate consent to sending faces over the internet (Measures Art 8), on the same notice, as a record
    of its own that can be withdrawn on its own; a written consent's signed text states it separately too."""
    record = session.record
    if not session.system.internet_transmission or record is None:
        return
    consent_grant(
        actor=actor,
        subject=record.subject,
        system=session.system,
        purpose=Purpose.objects.get(code=Purpose.TRANSMISSION),  # created by a migration
        notice=record.notice,
        provenance=provenance,
        method=record.method,
        guardian=record.guardian,
        artifact_sha256=record.artifact_sha256,
        at=now,
    )


def consent_session_outcome(session: ConsentSession, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """What the device may know: the state, and for a consent not yet used, its token."""
    now = now or timezone.now()
    state = session.state
    if state == ConsentSession.State.OPEN and session.expires_at <= now:
        state = ConsentSession.State.EXPIRED
    outcome: dict[str, Any] = {"state": state, "expires_at": session.expires_at}
    if state == ConsentSession.State.CONSENTED and session.token_used_at is None and session.notice is not None:
        outcome["consent_token"] = signing.dumps(
            {
                "s": str(session.public_id),
                "sys": session.system_id,
                "p": session.purpose.code,
                "n": session.notice.version,
                "k": session.subject_key,
            },
            salt=SALT,
            compress=True,
        )
    if state in (ConsentSession.State.DECLINED, ConsentSession.State.ALTERNATIVE) and session.answered_at:
        outcome["suppressed_until"] = session.answered_at + dt.timedelta(hours=settings.FACERIGHTS_REFUSAL_QUIET_HOURS)
    return outcome


def consent_token_redeem(
    *, system: System, purpose: Purpose, subject_key: str, token: str, now: dt.datetime | None = None
) -> ConsentSession:
    """The consented session a token proves, marked used in the caller's transaction (so a refused report
    leaves it usable). Raises ConsentError: expired, not valid, for another system, purpose or key, or used."""
    now = now or timezone.now()
    try:
        data = signing.loads(token, salt=SALT, max_age=dt.timedelta(hours=settings.FACERIGHTS_CONSENT_TOKEN_HOURS))
    except signing.SignatureExpired:
        raise ConsentError(
            _("The consent token has expired: ask the person again."), code="consent_token_expired"
        ) from None
    except signing.BadSignature:
        raise ConsentError(_("The consent token is not valid."), code="consent_token_invalid") from None
    if (data.get("sys"), data.get("p"), data.get("k")) != (system.pk, purpose.code, subject_key):
        raise ConsentError(
            _("The consent token was given for another system, purpose or person."), code="consent_token_mismatch"
        )
    used = ConsentSession.objects.filter(
        public_id=data.get("s"), state=ConsentSession.State.CONSENTED, token_used_at__isnull=True
    ).update(token_used_at=now)
    if used != 1:
        raise ConsentError(_("The consent token has been used already."), code="consent_token_used")
    return ConsentSession.objects.select_related("subject", "record", "notice").get(public_id=data["s"])


@dataclass(frozen=True)
class Prompt:
    allowed: bool
    suppressed_until: dt.datetime | None = None


def consent_prompt(
    *, system: System, purpose: Purpose, subject_key: str, subject: DataSubject | None, now: dt.datetime | None = None
) -> Prompt:
    """May the device ask this person now? Not within the quiet period after a "no" here or anywhere (R8)."""
    now = now or timezone.now()
    quiet = dt.timedelta(hours=settings.FACERIGHTS_REFUSAL_QUIET_HOURS)
    said_no = ConsentSession.objects.filter(
        system=system,
        purpose=purpose,
        subject_key=subject_key,
        state__in=(ConsentSession.State.DECLINED, ConsentSession.State.ALTERNATIVE),
        answered_at__gt=now - quiet,
    ).aggregate(last=Max("answered_at"))["last"]
    if subject is not None:
        refused = ConsentRefusal.objects.filter(
            subject=subject, system=system, purpose=purpose, at__gt=now - quiet
        ).aggregate(last=Max("at"))["last"]
        said_no = max(filter(None, (said_no, refused)), default=None)
    if said_no is None:
        return Prompt(allowed=True)
    return Prompt(allowed=False, suppressed_until=said_no + quiet)


# --- A child's guardian, confirming on the same page -----------------------------------------------
#
# Under 14 the child's answer records nothing (R5). The page then asks the parent or guardian, who
# is usually beside the child, to confirm with a code texted to their own phone. The code proves
# they hold that phone, not that they are the child's guardian: so the consent is recorded only for
# a child they are already the verified guardian of (Guardianship, checked by the DPO or at a desk
# against the household register), with the child's date of birth on record matching the one they
# give. Anyone else is told where to have the relationship verified; the child keeps the alternative.

AFTER_ANSWER = dt.timedelta(minutes=30)  # what the page still does after the answer: a guardian, a receipt by SMS
GUARDIAN_CODE_MINUTES = 10
GUARDIAN_CODE_ATTEMPTS = 5


def _guardian_code_digest(session: ConsentSession, code: str) -> str:
    return crypto.lookup_hash("guardian_code", f"{session.pk}:{code}")


def _lock_for_guardian(session: ConsentSession, now: dt.datetime) -> ConsentSession:
    session = (
        ConsentSession.objects.select_for_update(of=("self",))
        .select_related("system__entity", "purpose", "notice")
        .get(pk=session.pk)
    )
    if session.state != ConsentSession.State.GUARDIAN_NEEDED:
        raise ConsentError(_("This question has been answered already."), code="answered")
    if session.answered_at is None or now > session.answered_at + AFTER_ANSWER:
        raise ConsentError(_("This page has expired: ask for a new one at the device."), code="expired")
    return session


def consent_session_guardian_code_send(*, session: ConsentSession, phone: str, now: dt.datetime | None = None) -> str:
    """Text a one-time code to the phone the guardian types; return the number masked, to show."""
    now = now or timezone.now()
    try:
        normalized = normalize_phone(phone)
    except ValidationError as exc:
        raise ConsentError(exc.messages[0], code="phone") from None
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        session = _lock_for_guardian(session, now)
        session.guardian_phone_hash = crypto.lookup_hash("phone", normalized)
        session.guardian_code_hash = _guardian_code_digest(session, code)
        session.guardian_code_sent_at, session.guardian_code_attempts = now, 0
        session.save(
            update_fields=[
                "guardian_phone_hash",
                "guardian_code_hash",
                "guardian_code_sent_at",
                "guardian_code_attempts",
            ]
        )
        audit_record(
            actor=f"consent_session:{session.public_id}",
            action="consent_session.guardian_code_sent",
            target=session,
            data={},
        )
    sms_send(
        normalized,
        "guardian_code",
        {"company": session.system.entity.name_zh, "system": session.system.name_zh, "code": code},
    )
    return mask_phone(normalized)


def consent_session_guardian_confirm(
    *,
    session: ConsentSession,
    code: str,
    child_date_of_birth: dt.date,
    provenance: Provenance,
    signature: Signature | None = None,
    transmission: bool = False,
    now: dt.datetime | None = None,
) -> ConsentSession:
    """The guardian's consent for the child, once their code and their verified guardianship check out
    (signed by the guardian where the system needs written consent: R4; with their separate consent to
    sending the child's face over the internet, where the system does: Measures Art 8).

    Raises ConsentError with the reason the page shows; a wrong code counts against five tries, and
    a right code is spent whatever follows (so the child's date of birth cannot be guessed with it).
    """
    now = now or timezone.now()
    _transmission_check(session, transmission)  # checked, like the signature, before the code is spent
    if session.system.requires_written_consent:  # checked before the code is spent on it
        signature_check(
            system=session.system,
            purpose=session.purpose,
            notice=cast(Notice, session.notice),
            signature=signature,
            for_child=True,
            with_transmission=True,
        )
    wrong_code, guardianship, found = False, None, []
    with transaction.atomic():
        session = _lock_for_guardian(session, now)
        if not session.guardian_code_hash or session.guardian_code_sent_at is None:
            raise ConsentError(_("Ask for a code first."), code="no_code")
        if session.guardian_code_attempts >= GUARDIAN_CODE_ATTEMPTS or now > session.guardian_code_sent_at + (
            dt.timedelta(minutes=GUARDIAN_CODE_MINUTES)
        ):
            raise ConsentError(_("This code can no longer be used: ask for a new one."), code="code_spent")
        if not hmac.compare_digest(session.guardian_code_hash, _guardian_code_digest(session, "".join(code.split()))):
            session.guardian_code_attempts += 1
            session.save(update_fields=["guardian_code_attempts"])
            wrong_code = True
        else:
            session.guardian_code_hash = ""
            session.save(update_fields=["guardian_code_hash"])
            found = _verified_guardianships(session, child_date_of_birth)
            guardianship = found[0] if len(found) == 1 else None
    if wrong_code:
        raise ConsentError(_("The code does not match."), code="code_wrong")
    if len(found) > 1:  # twins, say: which child the page is for is not ours to guess
        raise ConsentError(
            _(
                "You are on record as the guardian of more than one child born on this day. So that this consent is "
                "recorded for the right child, please ask the staff to record it at the desk."
            ),
            code="guardian_ambiguous",
        )
    if guardianship is None:
        with transaction.atomic():  # an audit event is written in a transaction, and this one has ended
            audit_record(
                actor=f"consent_session:{session.public_id}",
                action="consent_session.guardian_unverified",
                target=session,
                data={},
            )
        raise ConsentError(
            _(
                "We have no verified record that you are the guardian of a child with this date of birth. Have the "
                "relationship verified at the front desk (with the household register) or in the portal; until "
                "then your child uses the alternative."
            ),
            code="guardian_unverified",
        )
    with transaction.atomic():
        session = _lock_for_guardian(session, now)
        actor = f"consent_session:{session.public_id}"
        session.subject = guardianship.ward
        session.record = consent_give_signed_if_required(
            actor=actor,
            subject=guardianship.ward,
            system=session.system,
            purpose=session.purpose,
            notice=cast(Notice, session.notice),
            provenance=provenance,
            signature=signature,
            where=Where.DEVICE,
            guardian=guardianship.guardian,
            at=now,
        )
        _transmission_consent(session, actor, provenance, now)
        session.state = ConsentSession.State.CONSENTED
        session.save(update_fields=["state", "subject", "record"])
        audit_record(actor=actor, action="consent_session.consented", target=session, data={"guardian": True})
    return session


def _verified_guardianships(session: ConsentSession, child_date_of_birth: dt.date) -> list[Guardianship]:
    """The verified, current guardianships of the phone's holder over a child born that day (and, if the
    device already knew the child, over that child): one, none, or (twins) more, which the desk sorts out."""
    found = list(
        Guardianship.objects.filter(
            guardian__identifiers__kind="phone",
            guardian__identifiers__lookup_hash=session.guardian_phone_hash,
            guardian__shredded_at__isnull=True,
            ward__date_of_birth=child_date_of_birth,
            ward__shredded_at__isnull=True,
            verified_at__isnull=False,
            ended_at__isnull=True,
        ).select_related("ward", "guardian")[:2]
    )
    if session.subject_id is not None:
        found = [g for g in found if g.ward_id == session.subject_id]
    return found


def consent_session_recent(session: ConsentSession, *, now: dt.datetime | None = None) -> bool:
    """Answered within the last half hour: the page still texts the receipt (the person is still there)."""
    now = now or timezone.now()
    return session.answered_at is not None and now <= session.answered_at + AFTER_ANSWER
