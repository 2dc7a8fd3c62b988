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
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights.audit import audit_record

from .models import ConsentRefusal, ConsentSession, DataSubject, Notice, Purpose
from .rules import needs_guardian_consent
from .services import (
    ConsentError,
    Provenance,
    System,
    consent_grant,
    consent_refuse,
    notice_current,
    subject_create,
    subject_date_of_birth_set,
)

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
    if not system.purposes.filter(pk=purpose.pk).exclude(code=Purpose.TRANSMISSION).exists():
        raise ConsentError(_("This system declares no purpose with that code."), code="purpose")
    if notice_current(system) is None:
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


def consent_session_for_page(page_token: str) -> ConsentSession | None:
    """The session a page address names, or None (unknown, or expired unanswered)."""
    session = (
        ConsentSession.objects.select_related("system", "purpose", "notice")
        .filter(page_token_sha256=_digest(page_token))
        .first()
    )
    if session is None or (session.state == ConsentSession.State.OPEN and session.expires_at <= timezone.now()):
        return None
    return session


def consent_session_answer(
    *,
    session: ConsentSession,
    answer: str,
    date_of_birth: dt.date | None,
    notice_version: int,
    provenance: Provenance,
    now: dt.datetime | None = None,
) -> ConsentSession:
    """Record the person's answer, once. Raises ConsentError with a reason the page shows.

    A consent needs the date of birth: under 14 it is not the child's to give, so nothing is
    recorded and the session says a guardian must consent. The notice must be the one the page
    showed: if the company published a new one meanwhile, the person reads that one first.
    """
    now = now or timezone.now()
    if answer not in Answer.ALL:
        raise ConsentError(_("Choose one of the three answers."), code="answer")
    with transaction.atomic():
        # Only the session row is locked (of self): a lock on the system and purpose rows joined in would make
        # every answer for the same kiosk wait on, and deadlock with, the others.
        session = (
            ConsentSession.objects.select_for_update(of=("self",))
            .select_related("system", "purpose")
            .get(pk=session.pk)
        )
        if session.state != ConsentSession.State.OPEN:
            raise ConsentError(_("This question has been answered already."), code="answered")
        if session.expires_at <= now:
            raise ConsentError(_("This page has expired: ask for a new one at the device."), code="expired")
        notice = notice_current(session.system)
        if notice is None or notice.version != notice_version:
            raise ConsentError(
                _("The notice changed while you were reading it: read the current one and answer again."),
                code="notice_changed",
            )
        session.notice = notice
        session.answered_at = now
        actor = f"consent_session:{session.public_id}"
        if answer == Answer.CONSENT:
            _consent(session, actor, notice, date_of_birth, provenance, now)
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
    subject = known or subject_create(actor=actor, date_of_birth=date_of_birth)
    if subject.date_of_birth is None:
        subject = subject_date_of_birth_set(actor=actor, subject=subject, date_of_birth=date_of_birth)
    session.subject = subject
    session.record = consent_grant(
        actor=actor,
        subject=subject,
        system=session.system,
        purpose=session.purpose,
        notice=notice,
        provenance=provenance,
        at=now,
    )
    session.state = ConsentSession.State.CONSENTED


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
