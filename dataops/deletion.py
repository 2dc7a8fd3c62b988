"""Deletion requests and their propagations: the ledger of every deletion.

Lifecycle (dataops/README.md has the diagram):

    pending ──claim──► sent ──2xx confirm──► deleted | not_found | held   (terminal)
       ▲                 │──202 accepted──► awaiting ──callback/ack──► terminal
       └──transient──────┘                      │
    failed (permanent, or retries exhausted) ──► escalated (a person acts;
    an overdue propagation is escalated too, and may still be confirmed)

Every function runs in one transaction, writes its audit event there, and is
safe to call twice. Nothing reaches a terminal state without evidence, and a
terminal propagation never changes again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentRecord, DataSubject
from consent.services import Evidence, consent_withdraw, subject_shred
from facerights.audit import audit_record
from facerights.workdays import CalendarYearUnknown, add_working_days

from .models import DeletionRequest, DeliveryAttempt, Holding, ProcessingSystem, Propagation, Request
from .services import request_due_date, request_submit

LIVE_HOLDING = (Holding.Status.HELD, Holding.Status.RESTRICTED)
OPEN_STATES = (
    Propagation.State.PENDING,
    Propagation.State.SENT,
    Propagation.State.AWAITING,
    Propagation.State.FAILED,
    Propagation.State.ESCALATED,
)

# Retries: exponential backoff with jitter, from 30 seconds up to six hours
# between attempts, for four days from the first; docs/integration.md lists it.
RETRY_BASE = dt.timedelta(seconds=30)
RETRY_CAP = dt.timedelta(hours=6)
RETRY_WINDOW = dt.timedelta(days=4)
RETRY_AFTER_CAP = dt.timedelta(days=1)


class PropagationError(ValidationError):
    pass


def evidence_fingerprint(evidence: dict) -> str:
    canonical = json.dumps(evidence, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _deadline(system: ProcessingSystem, today: dt.date, legal_due: dt.date) -> dt.date:
    try:
        agreed = add_working_days(today, system.deletion_working_days)
    except CalendarYearUnknown:
        agreed = today + dt.timedelta(days=system.deletion_working_days)
    return min(agreed, legal_due)


# --- Opening ------------------------------------------------------------------------------


def deletion_request_open(
    *,
    actor: str,
    subject: DataSubject,
    trigger: str,
    systems: list[ProcessingSystem] | None = None,
    request: Request | None = None,
    at: dt.datetime | None = None,
) -> DeletionRequest | None:
    """Open a deletion for every live holding of the subject (or those in `systems`).

    Writes one propagation per holding system in the same transaction. Holdings
    already being deleted are left to the deletion that holds them. Returns
    None when there is nothing left to delete.
    """
    from .tasks import propagations_dispatch

    at = at or timezone.now()
    today = timezone.localdate(at)
    with transaction.atomic():
        holdings = Holding.objects.select_for_update().filter(subject=subject, status__in=LIVE_HOLDING)
        if systems is not None:
            holdings = holdings.filter(system__in=systems)
        holdings = list(holdings.select_related("system").order_by("system_id"))
        if not holdings:
            return None
        due_on = request.due_on if request else request_due_date(today, Request.Type.DELETION)[0]
        deletion = DeletionRequest.objects.create(
            subject=subject, trigger=trigger, request=request, due_on=due_on, created_at=at
        )
        propagations = [_propagation_new(deletion, holding, today, at) for holding in holdings]
        Holding.objects.filter(pk__in=[h.pk for h in holdings]).update(status=Holding.Status.DELETION_PENDING)
        audit_record(
            actor=actor,
            action="deletion.opened",
            target=deletion,
            data={"trigger": trigger, "systems": [p.system_id for p in propagations], "due_on": due_on.isoformat()},
        )
        system_ids = sorted({p.system_id for p in propagations})
        transaction.on_commit(lambda: [propagations_dispatch.delay(system_id) for system_id in system_ids])
    return deletion


def _propagation_new(deletion: DeletionRequest, holding: Holding, today: dt.date, at: dt.datetime) -> Propagation:
    system = holding.system
    feed_seq = None
    if system.integration == ProcessingSystem.Integration.PULL:
        # Numbers are taken under the system's row lock, so a device never
        # sees number n+1 before number n has committed.
        ProcessingSystem.objects.filter(pk=system.pk).select_for_update().update(feed_seq=F("feed_seq") + 1)
        feed_seq = ProcessingSystem.objects.values_list("feed_seq", flat=True).get(pk=system.pk)
    return Propagation.objects.create(
        deletion_request=deletion,
        system=system,
        holding=holding,
        subject_key=holding.subject_key,
        deadline=_deadline(system, today, deletion.due_on),
        next_attempt_at=at,
        feed_seq=feed_seq,
        created_at=at,
    )


def consent_withdrawal_submit(*, actor: str, record: ConsentRecord, evidence: Evidence) -> DeletionRequest | None:
    """Withdraw a consent and open the deletion it calls for (PIPL Art 47(3)), in one step (R6)."""
    with transaction.atomic():
        already = record.state == ConsentRecord.State.WITHDRAWN
        consent_withdraw(actor=actor, record=record, evidence=evidence)
        if already:
            return (
                DeletionRequest.objects.filter(subject_id=record.subject_id, propagations__system_id=record.system_id)
                .order_by("-created_at")
                .first()
            )
        request = request_submit(
            actor=actor, subject=record.subject, type=Request.Type.WITHDRAWAL, system=record.system
        )
        return deletion_request_open(
            actor=actor,
            subject=record.subject,
            trigger=DeletionRequest.Trigger.CONSENT_WITHDRAWN,
            systems=[record.system],
            request=request,
        )


# --- Claiming and recording attempts ----------------------------------------------------------


def _due(now: dt.datetime) -> Q:
    return Q(state__in=OPEN_STATES, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def propagations_claim(
    *, system: ProcessingSystem, limit: int = 100, now: dt.datetime | None = None
) -> list[Propagation]:
    """Claim up to `limit` due propagations of a system for one delivery, and record the attempt.

    Concurrent workers take disjoint rows (SKIP LOCKED on PostgreSQL; SQLite
    serialises writers). The claim is a lease: a worker that dies leaves rows
    that become due again when it expires.
    """
    now = now or timezone.now()
    lease_end = now + dt.timedelta(seconds=settings.FACERIGHTS_CLAIM_LEASE_SECONDS)
    with transaction.atomic():
        rows = list(
            Propagation.objects.select_for_update(skip_locked=True)
            .filter(_due(now), system=system)
            .order_by("next_attempt_at", "pk")[:limit]
        )
        if not rows:
            return []
        ids = [row.pk for row in rows]
        Propagation.objects.filter(pk__in=ids).filter(_due(now)).update(
            claimed_until=lease_end, attempts=F("attempts") + 1
        )
        claimed = list(
            Propagation.objects.filter(pk__in=ids, claimed_until=lease_end).select_related("deletion_request")
        )
        DeliveryAttempt.objects.bulk_create(
            [DeliveryAttempt(propagation=p, number=p.attempts, started_at=now) for p in claimed]
        )
    return claimed


def _finish_attempt(propagation: Propagation, outcome: str, *, status: int | None = None, error: str = "") -> None:
    DeliveryAttempt.objects.filter(
        propagation=propagation, number=propagation.attempts, outcome=DeliveryAttempt.Outcome.IN_FLIGHT
    ).update(outcome=outcome, http_status=status, error=error[:255], finished_at=timezone.now())


def _locked(propagation: Propagation) -> Propagation:
    return Propagation.objects.select_for_update().select_related("deletion_request", "system").get(pk=propagation.pk)


# --- Outcomes ------------------------------------------------------------------------------------


def propagation_mark_sent(*, actor: str, propagation: Propagation, next_attempt_at: dt.datetime | None) -> Propagation:
    """The instruction reached the system (a pull device fetched it, a vendor was emailed)."""
    with transaction.atomic():
        p = _locked(propagation)
        if p.state not in (Propagation.State.PENDING, Propagation.State.SENT, Propagation.State.ESCALATED):
            return p
        first = p.state == Propagation.State.PENDING
        p.state = Propagation.State.SENT if p.state != Propagation.State.ESCALATED else p.state
        p.sent_at = p.sent_at or timezone.now()
        p.next_attempt_at = next_attempt_at
        p.claimed_until = None
        p.save(update_fields=["state", "sent_at", "next_attempt_at", "claimed_until"])
        _finish_attempt(p, DeliveryAttempt.Outcome.ACCEPTED)
        if first:
            audit_record(actor=actor, action="propagation.sent", target=p, data={"system": p.system_id})
    return p


def propagation_accepted(*, actor: str, propagation: Propagation, status: int | None = None) -> Propagation:
    """The system took the instruction and will confirm later (a callback or an ack)."""
    with transaction.atomic():
        p = _locked(propagation)
        if p.is_terminal:
            return p
        previous = p.state
        if p.state != Propagation.State.ESCALATED:
            p.state = Propagation.State.AWAITING
        p.sent_at = p.sent_at or timezone.now()
        p.claimed_until = None
        # Ask again, with the same idempotency key, if no confirmation comes.
        p.next_attempt_at = timezone.now() + dt.timedelta(seconds=settings.FACERIGHTS_CONFIRMATION_WAIT_SECONDS)
        p.save(update_fields=["state", "sent_at", "claimed_until", "next_attempt_at"])
        _finish_attempt(p, DeliveryAttempt.Outcome.ACCEPTED, status=status)
        if previous != p.state:
            audit_record(actor=actor, action="propagation.awaiting", target=p, data={"system": p.system_id})
    return p


def propagation_confirm(
    *, actor: str, propagation: Propagation, outcome: str, evidence: dict, reason: str = "", status: int | None = None
) -> Propagation:
    """Record a system's confirmed outcome with its evidence; a terminal propagation never changes."""
    if outcome not in Propagation.TERMINAL:
        raise PropagationError(_("Unknown outcome: use deleted, not_found or held."), code="outcome")
    if not evidence:
        raise PropagationError(_("A confirmation needs evidence."), code="evidence")
    if outcome == Propagation.State.HELD and not reason.strip():
        raise PropagationError(_("Data held back needs a reason (PIPL Art 47)."), code="reason")
    with transaction.atomic():
        p = _locked(propagation)
        if p.is_terminal:
            return p
        now = timezone.now()
        p.state = outcome
        p.evidence = evidence
        p.evidence_sha256 = evidence_fingerprint(evidence)
        p.held_reason = reason.strip()[:255]
        p.confirmed_at = now
        p.claimed_until = None
        p.next_attempt_at = None
        p.save(
            update_fields=[
                "state",
                "evidence",
                "evidence_sha256",
                "held_reason",
                "confirmed_at",
                "claimed_until",
                "next_attempt_at",
            ]
        )
        _finish_attempt(p, DeliveryAttempt.Outcome.CONFIRMED, status=status)
        Holding.objects.filter(pk=p.holding_id).update(
            status=Holding.Status.RESTRICTED if outcome == Propagation.State.HELD else Holding.Status.DELETED,
            deleted_at=None if outcome == Propagation.State.HELD else now,
        )
        ProcessingSystem.objects.filter(pk=p.system_id).update(last_success_at=now)
        audit_record(
            actor=actor,
            action=f"propagation.{outcome}",
            target=p,
            data={"system": p.system_id, "evidence_sha256": p.evidence_sha256},
        )
        _complete_if_done(actor, p.deletion_request)
    return p


def propagation_retry_later(
    *, actor: str, propagation: Propagation, error: str, status: int | None = None, retry_after: int | None = None
) -> Propagation:
    """A transient failure: try again after a backoff, or fail once the retry window is spent."""
    with transaction.atomic():
        p = _locked(propagation)
        if p.is_terminal:
            return p
        now = timezone.now()
        _finish_attempt(p, DeliveryAttempt.Outcome.TRANSIENT, status=status, error=error)
        p.last_error = error[:255]
        p.claimed_until = None
        if now - p.created_at > RETRY_WINDOW:
            p.save(update_fields=["last_error", "claimed_until"])
            return _fail(actor, p, error, permanent=False)
        delay = min(RETRY_BASE * 2 ** max(p.attempts - 1, 0), RETRY_CAP) * random.uniform(0.8, 1.2)  # noqa: S311
        if retry_after:
            delay = max(delay, min(dt.timedelta(seconds=retry_after), RETRY_AFTER_CAP))
        p.next_attempt_at = now + delay
        if p.state not in (Propagation.State.ESCALATED,):
            p.state = Propagation.State.PENDING
        p.save(update_fields=["state", "last_error", "claimed_until", "next_attempt_at"])
    return p


def propagation_fail(*, actor: str, propagation: Propagation, error: str, status: int | None = None) -> Propagation:
    """A permanent failure (a 4xx, a 410, a refused address): a person must act; never done."""
    with transaction.atomic():
        p = _locked(propagation)
        if p.is_terminal:
            return p
        _finish_attempt(p, DeliveryAttempt.Outcome.PERMANENT, status=status, error=error)
        return _fail(actor, p, error, permanent=True)


def _fail(actor: str, p: Propagation, error: str, *, permanent: bool) -> Propagation:
    p.state = Propagation.State.FAILED
    p.last_error = error[:255]
    p.failure_permanent = permanent
    p.next_attempt_at = None
    p.claimed_until = None
    p.save(update_fields=["state", "last_error", "failure_permanent", "next_attempt_at", "claimed_until"])
    audit_record(
        actor=actor, action="propagation.failed", target=p, data={"system": p.system_id, "permanent": permanent}
    )
    return propagation_escalate(actor=actor, propagation=p, reason="delivery_failed")


def propagation_escalate(*, actor: str, propagation: Propagation, reason: str) -> Propagation:
    """Hand a propagation to a person (failed, or past its deadline); the DPO and the subject are told."""
    from .notify import escalation_notify

    with transaction.atomic():
        p = _locked(propagation)
        if p.is_terminal or p.state == Propagation.State.ESCALATED:
            return p
        first = p.escalated_at is None
        p.state = Propagation.State.ESCALATED
        p.escalated_at = p.escalated_at or timezone.now()
        p.save(update_fields=["state", "escalated_at"])
        if first:  # people are told once; a later failure only keeps it in their queue
            audit_record(
                actor=actor, action="propagation.escalated", target=p, data={"system": p.system_id, "reason": reason}
            )
            transaction.on_commit(lambda: escalation_notify(p.pk))
    return p


def propagation_retry_now(*, actor: str, propagation: Propagation) -> Propagation:
    """A person asks for another attempt now (after fixing a system's configuration, say)."""
    from .tasks import propagations_dispatch

    with transaction.atomic():
        p = _locked(propagation)
        if p.is_terminal:
            return p
        p.next_attempt_at = timezone.now()
        p.claimed_until = None
        p.save(update_fields=["next_attempt_at", "claimed_until"])
        audit_record(actor=actor, action="propagation.retry_requested", target=p, data={"system": p.system_id})
        transaction.on_commit(lambda: propagations_dispatch.delay(p.system_id))
    return p


# --- Completion --------------------------------------------------------------------------------


def _complete_if_done(actor: str, deletion: DeletionRequest) -> None:
    deletion = DeletionRequest.objects.select_for_update().get(pk=deletion.pk)
    if deletion.state == DeletionRequest.State.COMPLETED:
        return
    if deletion.propagations.exclude(state__in=Propagation.TERMINAL).exists():
        return
    from .notify import deletion_completed_notify

    deletion.state = DeletionRequest.State.COMPLETED
    deletion.completed_at = timezone.now()
    deletion.save(update_fields=["state", "completed_at"])
    audit_record(actor=actor, action="deletion.completed", target=deletion)
    if deletion.request_id:
        Request.objects.filter(pk=deletion.request_id, state__in=Request.OPEN_STATES).update(
            state=Request.State.COMPLETED, closed_at=deletion.completed_at
        )
    transaction.on_commit(lambda: deletion_completed_notify(deletion.pk))


def consents_withdraw_all(*, actor: str, subject: DataSubject, evidence: Evidence) -> DeletionRequest | None:
    """Withdraw every current consent of a subject and delete from every system they concerned, as one request."""
    with transaction.atomic():
        records = list(
            ConsentRecord.objects.select_for_update().filter(
                subject=subject, state__in=[ConsentRecord.State.ACTIVE, ConsentRecord.State.NEEDS_RECONSENT]
            )
        )
        if not records:
            return None
        for record in records:
            consent_withdraw(actor=actor, record=record, evidence=evidence)
        request = request_submit(actor=actor, subject=subject, type=Request.Type.WITHDRAWAL)
        systems = list(ProcessingSystem.objects.filter(pk__in={r.system_id for r in records}))
        return deletion_request_open(
            actor=actor,
            subject=subject,
            trigger=DeletionRequest.Trigger.CONSENT_WITHDRAWN,
            systems=systems,
            request=request,
        )


SHRED_AFTER = dt.timedelta(days=1)


def subjects_shred_due(*, actor: str, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Destroy the identifiers of people FaceRights no longer holds anything about.

    Once a subject has no live holding, no open request and no account, and
    their last deletion completed a day ago (time for the completion notice to
    reach them), their identifiers and name are crypto-shredded; the keyed
    hashes stay as tombstones so a restore from backup can replay the deletion.
    Requests, propagations and their evidence are kept (R25).
    """
    now = now or timezone.now()
    candidates = (
        DataSubject.objects.filter(shredded_at__isnull=True, user__isnull=True, deletion_requests__isnull=False)
        .exclude(holdings__status__in=LIVE_HOLDING + (Holding.Status.DELETION_PENDING,))
        .exclude(requests__state__in=Request.OPEN_STATES)
        .exclude(deletion_requests__state=DeletionRequest.State.OPEN)
        .exclude(deletion_requests__completed_at__gt=now - SHRED_AFTER)
        .distinct()[:limit]
    )
    count = 0
    for subject in candidates:
        subject_shred(actor=actor, subject=subject)
        count += 1
    return count
