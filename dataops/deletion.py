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
import logging
import random
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentRecord, DataSubject
from consent.services import Evidence, consent_withdraw, subject_shred
from facerights.audit import Entry, audit_record, audit_record_many
from facerights.celery import enqueue_on_commit
from facerights.db import bulk_update_rows
from facerights.journal import Tombstone, journal_append
from facerights.logs import request_id_get
from facerights.workdays import CalendarYearUnknown, add_working_days

from .models import DeletionRequest, DeliveryAttempt, Holding, ProcessingSystem, Propagation, Request
from .services import request_due_date, request_submit

logger = logging.getLogger(__name__)


def trace_ids(deletions) -> list[str]:
    """The request ids that opened these deletions (facerights.logs), for log lines about them."""
    return sorted({d.trace_id for d in deletions if d.trace_id})[:50]


LIVE_HOLDING = (Holding.Status.HELD, Holding.Status.RESTRICTED)
OPEN_STATES = (
    Propagation.State.PENDING,
    Propagation.State.SENT,
    Propagation.State.AWAITING,
    Propagation.State.FAILED,
    Propagation.State.ESCALATED,
)

# Retries: exponential backoff with jitter, from FACERIGHTS_RETRY_BASE_SECONDS (30)
# up to six hours between attempts, for four days from the first; docs/integration.md lists it.
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
    reference: str | None = None,
) -> DeletionRequest | None:
    """Open a deletion for every live holding of the subject (or those in `systems`).

    Returns None when there is nothing left to delete: holdings already being
    deleted are left to the deletion that holds them. `reference` is for a
    replay after a restore (dataops.restore), which reopens a deletion under
    the reference it had, so the next replay finds it.
    """
    opened = deletion_requests_open(
        actor=actor,
        subject_ids=[subject.pk],
        trigger=trigger,
        systems=systems,
        request=request,
        at=at,
        references={subject.pk: reference} if reference else None,
    )
    return opened[0] if opened else None


OPEN_CHUNK = 1000


def deletion_requests_open(
    *,
    actor: str,
    subject_ids: list[int],
    trigger: str,
    systems: list[ProcessingSystem] | None = None,
    request: Request | None = None,
    at: dt.datetime | None = None,
    references: dict[int, str] | None = None,
) -> list[DeletionRequest]:
    """Open one deletion per subject, with one propagation per holding system, in bulk.

    Each chunk of subjects is one transaction: a subject's request, its
    propagations, its holdings' new status and its audit event commit together,
    and the chunk's tombstones are journaled just before that commit.
    Dispatch tasks (one per system) are sent after each commit.
    """
    at = at or timezone.now()
    references = references or {}
    opened: list[DeletionRequest] = []
    for start in range(0, len(subject_ids), OPEN_CHUNK):
        chunk = subject_ids[start : start + OPEN_CHUNK]
        opened.extend(_open_chunk(actor, chunk, trigger, systems, request, at, references))
    return opened


def _open_chunk(actor, subject_ids, trigger, systems, request, at, references) -> list[DeletionRequest]:
    from .tasks import propagations_dispatch

    today = timezone.localdate(at)
    with transaction.atomic():
        holdings = Holding.objects.select_for_update().filter(subject_id__in=subject_ids, status__in=LIVE_HOLDING)
        if systems is not None:
            holdings = holdings.filter(system__in=systems)
        holdings = list(holdings.select_related("system").order_by("subject_id", "system_id"))
        if not holdings:
            return []
        due_on = request.due_on if request else request_due_date(today, Request.Type.DELETION)[0]
        subjects = sorted({h.subject_id for h in holdings})
        deletions = DeletionRequest.objects.bulk_create(
            [
                DeletionRequest(
                    subject_id=sid,
                    trigger=trigger,
                    request=request,
                    due_on=due_on,
                    created_at=at,
                    trace_id=request_id_get(),
                    **({"reference": references[sid]} if sid in references else {}),
                )
                for sid in subjects
            ]
        )
        by_subject = {d.subject_id: d for d in deletions}
        system_by_id = {h.system_id: h.system for h in holdings}
        deadlines = {pk: _deadline(system, today, due_on) for pk, system in system_by_id.items()}
        next_seq = _reserve_feed_numbers(holdings, system_by_id)
        propagations = []
        for holding in holdings:
            feed_seq = None
            if holding.system_id in next_seq:
                feed_seq = next_seq[holding.system_id]
                next_seq[holding.system_id] += 1
            propagations.append(
                Propagation(
                    deletion_request=by_subject[holding.subject_id],
                    system_id=holding.system_id,
                    holding=holding,
                    subject_key=holding.subject_key,
                    deadline=deadlines[holding.system_id],
                    next_attempt_at=at,
                    feed_seq=feed_seq,
                    created_at=at,
                )
            )
        Propagation.objects.bulk_create(propagations, batch_size=2000)
        Holding.objects.filter(pk__in=[h.pk for h in holdings]).update(status=Holding.Status.DELETION_PENDING)
        systems_of = {}
        for p in propagations:
            systems_of.setdefault(p.deletion_request.subject_id, []).append(p.system_id)
        audit_record_many(
            actor=actor,
            entries=[
                Entry(
                    action="deletion.opened",
                    target=d,
                    data={"trigger": trigger, "systems": systems_of[d.subject_id], "due_on": due_on.isoformat()},
                )
                for d in deletions
            ],
        )
        _journal_opened(deletions, holdings, trigger, request, at, feed_next=next_seq)
        logger.info(
            "%d deletions opened, %d propagations",
            len(deletions),
            len(propagations),
            extra={"deletions": [d.reference for d in deletions[:50]], "trigger": trigger},
        )
        system_ids = sorted(system_by_id)
        for system_id in system_ids:
            enqueue_on_commit(propagations_dispatch, system_id)
    return deletions


def _journal_opened(deletions, holdings, trigger, request, at, *, feed_next: dict[int, int]) -> None:
    """Write each opened deletion to the tombstone journal, before the transaction commits.

    Ids and the reference only, no personal data. Synthetic subjects (connection
    tests) are left out: there is no person to bring back. The pull feed numbers
    taken are journaled for every deletion, synthetic or not: a restore rewinds
    each system's counter, and a device whose cursor is already past the
    rewound number would never read the instructions numbered below it.
    """
    people = dict(
        DataSubject.objects.filter(pk__in={d.subject_id for d in deletions}, is_synthetic=False).values_list(
            "pk", "uuid"
        )
    )
    covered: dict[int, list[dict]] = {}
    for h in holdings:
        covered.setdefault(h.subject_id, []).append({"id": h.pk, "system": h.system_id})
    tombstones = [
        Tombstone(
            kind="deletion.opened",
            at=at,
            data={
                "subject": str(people[d.subject_id]),
                "reference": d.reference,
                "trigger": trigger,
                "request": request.reference if request else None,
                "holdings": covered[d.subject_id],
            },
        )
        for d in deletions
        if d.subject_id in people
    ]
    if feed_next:  # the last number taken on each pull system
        last = {str(pk): seq - 1 for pk, seq in feed_next.items()}
        tombstones.append(Tombstone(kind="feed.reserved", at=at, data={"feeds": last}))
    journal_append(tombstones)


def _reserve_feed_numbers(holdings: list[Holding], system_by_id: dict) -> dict[int, int]:
    """Take a block of feed numbers for each pull system, under the system's row lock.

    The lock is held until commit, so a device never sees number n+1 before
    number n has committed.
    """
    wanted: dict[int, int] = {}
    for holding in holdings:
        if system_by_id[holding.system_id].integration == ProcessingSystem.Integration.PULL:
            wanted[holding.system_id] = wanted.get(holding.system_id, 0) + 1
    first = {}
    for system_id in sorted(wanted):
        ProcessingSystem.objects.filter(pk=system_id).update(feed_seq=F("feed_seq") + wanted[system_id])
        last = ProcessingSystem.objects.values_list("feed_seq", flat=True).get(pk=system_id)
        first[system_id] = last - wanted[system_id] + 1
    return first


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
    *, system: ProcessingSystem, limit: int = 100, now: dt.datetime | None = None, tests_only: bool = False
) -> list[Propagation]:
    """Claim up to `limit` due propagations of a system for one delivery, and record the attempt.

    Concurrent workers take disjoint rows (SKIP LOCKED on PostgreSQL; SQLite
    serialises writers). The claim is a lease: a worker that dies leaves rows
    that become due again when it expires. `tests_only` claims connection
    tests alone (a draft system gets its test, nothing real).
    """
    now = now or timezone.now()
    lease_end = now + dt.timedelta(seconds=settings.FACERIGHTS_CLAIM_LEASE_SECONDS)
    due = Propagation.objects.filter(_due(now), system=system)
    if tests_only:
        due = due.filter(deletion_request__subject__is_synthetic=True)
    with transaction.atomic():
        rows = list(due.select_for_update(skip_locked=True, of=("self",)).order_by("next_attempt_at", "pk")[:limit])
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


def propagations_mark_delivered(*, actor: str, propagation_ids: list[int]) -> int:
    """A pull device fetched these instructions: pending ones become sent (one audit event each)."""
    with transaction.atomic():
        rows = list(
            Propagation.objects.select_for_update()
            .filter(pk__in=propagation_ids, state=Propagation.State.PENDING)
            .select_related("deletion_request")
            .order_by("pk")
        )
        if not rows:
            return 0
        now = timezone.now()
        Propagation.objects.filter(pk__in=[p.pk for p in rows]).update(
            state=Propagation.State.SENT, sent_at=now, next_attempt_at=None
        )
        audit_record_many(
            actor=actor,
            entries=[Entry(action="propagation.sent", target=p, data={"system": p.system_id}) for p in rows],
        )
    return len(rows)


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


@dataclass(frozen=True)
class Confirmation:
    """A system's confirmed outcome for one propagation."""

    propagation_id: int
    outcome: str
    evidence: dict
    reason: str = ""
    status: int | None = None

    def check(self) -> None:
        if self.outcome not in Propagation.TERMINAL:
            raise PropagationError(_("Unknown outcome: use deleted, not_found or held."), code="outcome")
        if not self.evidence:
            raise PropagationError(_("A confirmation needs evidence."), code="evidence")
        if self.outcome == Propagation.State.HELD and not self.reason.strip():
            raise PropagationError(_("Data held back needs a reason (PIPL Art 47)."), code="reason")


def propagation_confirm(
    *, actor: str, propagation: Propagation, outcome: str, evidence: dict, reason: str = "", status: int | None = None
) -> Propagation:
    """Record a system's confirmed outcome with its evidence; a terminal propagation never changes."""
    propagations_confirm(
        actor=actor,
        confirmations=[Confirmation(propagation.pk, outcome, evidence, reason, status)],
    )
    return Propagation.objects.select_related("deletion_request", "system").get(pk=propagation.pk)


def propagations_confirm(*, actor: str, confirmations: list[Confirmation]) -> int:
    """Record many confirmed outcomes in one transaction (a batch answer, a device's acks).

    Every confirmation is checked first: one without evidence, or held
    without a reason, raises and nothing is written. Propagations already
    terminal are left as they are. Returns how many changed.
    """
    for confirmation in confirmations:
        confirmation.check()
    by_id = {c.propagation_id: c for c in confirmations}
    with transaction.atomic():
        rows = list(
            Propagation.objects.select_for_update()
            .filter(pk__in=by_id)
            .exclude(state__in=Propagation.TERMINAL)
            .select_related("deletion_request")
            .order_by("pk")
        )
        if not rows:
            return 0
        now = timezone.now()
        for p in rows:
            c = by_id[p.pk]
            p.state = c.outcome
            p.evidence = c.evidence
            p.evidence_sha256 = evidence_fingerprint(c.evidence)
            p.held_reason = c.reason.strip()[:255]
            p.confirmed_at = now
            p.claimed_until = None
            p.next_attempt_at = None
        bulk_update_rows(
            rows,
            ["state", "evidence", "evidence_sha256", "held_reason", "confirmed_at", "claimed_until", "next_attempt_at"],
        )
        ids = [p.pk for p in rows]
        for status in {by_id[pk].status for pk in ids}:
            DeliveryAttempt.objects.filter(
                propagation_id__in=[pk for pk in ids if by_id[pk].status == status],
                outcome=DeliveryAttempt.Outcome.IN_FLIGHT,
            ).update(outcome=DeliveryAttempt.Outcome.CONFIRMED, http_status=status, finished_at=now)
        held = [p.holding_id for p in rows if p.state == Propagation.State.HELD]
        gone = [p.holding_id for p in rows if p.state != Propagation.State.HELD]
        Holding.objects.filter(pk__in=gone).update(status=Holding.Status.DELETED, deleted_at=now)
        Holding.objects.filter(pk__in=held).update(status=Holding.Status.RESTRICTED)
        ProcessingSystem.objects.filter(pk__in={p.system_id for p in rows}).update(last_success_at=now)
        audit_record_many(
            actor=actor,
            entries=[
                Entry(
                    action=f"propagation.{p.state}",
                    target=p,
                    data={"system": p.system_id, "evidence_sha256": p.evidence_sha256},
                )
                for p in rows
            ],
        )
        _complete_if_done(actor, {p.deletion_request_id for p in rows})
    return len(rows)


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
        base = dt.timedelta(seconds=settings.FACERIGHTS_RETRY_BASE_SECONDS)
        delay = min(base * 2 ** max(p.attempts - 1, 0), RETRY_CAP) * random.uniform(0.8, 1.2)  # noqa: S311
        if retry_after:
            delay = max(delay, min(dt.timedelta(seconds=retry_after), RETRY_AFTER_CAP))
        p.next_attempt_at = now + delay
        if p.state not in (Propagation.State.ESCALATED,):
            p.state = Propagation.State.PENDING
        p.save(update_fields=["state", "last_error", "claimed_until", "next_attempt_at"])
    return p


def propagations_recovered(*, system: ProcessingSystem) -> int:
    """A system answers again: whatever waits in backoff for it is due now, not hours later.

    Backoff spares a system that is down; once it confirms a delivery, making the
    rest wait out their doubled delays only makes deletions late. Returns how
    many were brought forward.
    """
    now = timezone.now()
    moved = (
        Propagation.objects.filter(
            system=system,
            state__in=(Propagation.State.PENDING, Propagation.State.ESCALATED),
            next_attempt_at__gt=now,
        )
        .exclude(last_error="")
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(next_attempt_at=now)
    )
    if moved:
        logger.info("system %s answers again: %d deliveries due now", system.pk, moved, extra={"system": system.pk})
    return moved


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
        enqueue_on_commit(propagations_dispatch, p.system_id)
    return p


# --- Completion --------------------------------------------------------------------------------


def _complete_if_done(actor: str, deletion_ids: set[int]) -> None:
    """Complete every deletion among these whose propagations are all terminal; a completed one never reopens."""
    from .notify import deletions_completed_notify

    unfinished = Propagation.objects.filter(deletion_request=OuterRef("pk")).exclude(state__in=Propagation.TERMINAL)
    done = list(
        DeletionRequest.objects.select_for_update()
        .filter(pk__in=deletion_ids, state=DeletionRequest.State.OPEN)
        .filter(~Exists(unfinished))
        .order_by("pk")
    )
    if not done:
        return
    now = timezone.now()
    DeletionRequest.objects.filter(pk__in=[d.pk for d in done]).update(
        state=DeletionRequest.State.COMPLETED, completed_at=now
    )
    request_ids = [d.request_id for d in done if d.request_id]
    Request.objects.filter(pk__in=request_ids, state__in=Request.OPEN_STATES).update(
        state=Request.State.COMPLETED, closed_at=now
    )
    audit_record_many(actor=actor, entries=[Entry(action="deletion.completed", target=d) for d in done])
    logger.info(
        "%d deletions completed",
        len(done),
        extra={"deletions": [d.reference for d in done[:50]], "request_ids": trace_ids(done)},
    )
    done_ids = [d.pk for d in done]
    from .health import connection_tests_complete

    connection_tests_complete(actor=actor, deletion_ids=done_ids)
    transaction.on_commit(lambda: deletions_completed_notify(done_ids))


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


def rights_request_submit(
    *, actor: str, subject: DataSubject, type: str, system: ProcessingSystem | None = None, details: str = ""
) -> Request:
    """A request from the portal; a deletion or a switch to a non-face method starts deleting at once."""
    with transaction.atomic():
        request = request_submit(actor=actor, subject=subject, type=type, system=system, details=details)
        systems = [system] if system else None
        if type == Request.Type.DELETION:
            deletion_request_open(
                actor=actor,
                subject=subject,
                trigger=DeletionRequest.Trigger.SUBJECT_REQUEST,
                systems=systems,
                request=request,
            )
        elif type == Request.Type.SWITCH_ALTERNATIVE and system is not None:
            # Measures Art 10: the person keeps the service through the system's non-face
            # method; their consent ends and the facial data there is deleted.
            for record in ConsentRecord.objects.filter(
                subject=subject, system=system, state=ConsentRecord.State.ACTIVE
            ):
                consent_withdraw(actor=actor, record=record, evidence=Evidence())
            deletion_request_open(
                actor=actor,
                subject=subject,
                trigger=DeletionRequest.Trigger.SWITCH_ALTERNATIVE,
                systems=systems,
                request=request,
            )
    return request


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
        DataSubject.objects.filter(
            shredded_at__isnull=True, user__isnull=True, is_synthetic=False, deletion_requests__isnull=False
        )
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
