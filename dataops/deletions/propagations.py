"""Carrying each propagation to its outcome: claims, attempts, outcomes, escalation, completion.

Every function runs in one transaction, writes its audit event there, and is
safe to call twice. Each move is checked against the state machine
(`states.py`); nothing reaches a terminal state without evidence, and a
terminal propagation never changes again. When the last propagation of a
deletion is terminal, the deletion completes and closes its rights request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import random
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights.audit import Entry, Row, audit_batch, audit_record, audit_record_many, audit_record_rows
from facerights.db import bulk_update_rows, insert_columns
from facerights.queues import enqueue_on_commit

from ..registry.models import Holding, ProcessingSystem
from ..requests.services import requests_complete_done
from . import states
from .connection_tests import connection_tests_complete
from .models import DeletionRequest, DeliveryAttempt, Propagation
from .opening import trace_ids

logger = logging.getLogger(__name__)

# Retries: exponential backoff with jitter, from FACERIGHTS_RETRY_BASE_SECONDS (30)
# up to six hours between attempts, for four days from the first; docs/integration.md lists it.
RETRY_CAP = dt.timedelta(hours=6)
RETRY_WINDOW = dt.timedelta(days=4)
RETRY_AFTER_CAP = dt.timedelta(days=1)


class PropagationError(ValidationError):
    pass


def evidence_fingerprint(evidence: dict[str, Any]) -> str:
    canonical = json.dumps(evidence, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- Claiming and recording attempts ----------------------------------------------------------


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
    due = Propagation.objects.filter(states.due(now), system=system)
    if tests_only:
        due = due.filter(deletion_request__subject__is_synthetic=True)
    with transaction.atomic():
        ids = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by("next_attempt_at", "pk")
            .values_list("pk", flat=True)[:limit]
        )
        if not ids:
            return []
        Propagation.objects.filter(pk__in=ids).filter(states.due(now)).update(
            claimed_until=lease_end, attempts=F("attempts") + 1
        )
        claimed = list(
            Propagation.objects.filter(pk__in=ids, claimed_until=lease_end).select_related("deletion_request")
        )
        insert_columns(
            DeliveryAttempt,
            len(claimed),
            {"propagation": [p.pk for p in claimed], "number": [p.attempts for p in claimed], "started_at": now},
            returning=(),
        )
    return claimed


def _finish_attempt(propagation: Propagation, outcome: str, *, status: int | None = None, error: str = "") -> None:
    DeliveryAttempt.objects.filter(
        propagation=propagation, number=propagation.attempts, outcome=DeliveryAttempt.Outcome.IN_FLIGHT
    ).update(outcome=outcome, http_status=status, error=error[:255], finished_at=timezone.now())


# Only the propagation rows are locked (of=("self",)): their deletion and system are read, not changed, and
# locking those too through the join made workers confirming different people's deletions for the same
# systems wait on, and deadlock over, each other's system and deletion rows.
LOCK_OWN = ("self",)
SUCCESS_RESOLUTION = dt.timedelta(minutes=1)  # a system's last confirmed deletion, to the minute


def _locked(propagation: Propagation) -> Propagation:
    return (
        Propagation.objects.select_for_update(of=LOCK_OWN)
        .select_related("deletion_request", "system")
        .get(pk=propagation.pk)
    )


# --- Outcomes ------------------------------------------------------------------------------------


def _move(p: Propagation, to: str) -> str:
    """The state `p` takes for an outcome `to`: escalated stays escalated until the system confirms.

    Raises TransitionError for a move the state machine does not have.
    """
    if p.state == Propagation.State.ESCALATED and to not in states.TERMINAL:
        to = Propagation.State.ESCALATED  # the DPO keeps it in view while delivery goes on
    states.check(p.state, to)
    return to


def propagation_mark_sent(*, actor: str, propagation: Propagation, next_attempt_at: dt.datetime | None) -> Propagation:
    """The instruction reached the system (a vendor was emailed, a reminder sent); no answer yet."""
    with transaction.atomic():
        p = _locked(propagation)
        if not states.allowed(p.state, Propagation.State.SENT) and p.state != Propagation.State.ESCALATED:
            return p  # confirmed already, or the system said it will confirm: nothing to add
        first = p.state == Propagation.State.PENDING
        p.state = _move(p, Propagation.State.SENT)
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
    states.check(Propagation.State.PENDING, Propagation.State.SENT)
    with transaction.atomic():
        rows = list(
            Propagation.objects.select_for_update(of=LOCK_OWN)
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
        p.state = _move(p, Propagation.State.AWAITING)
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
    evidence: dict[str, Any]
    reason: str = ""
    status: int | None = None

    def check(self) -> None:
        if self.outcome not in states.TERMINAL:
            raise PropagationError(_("Unknown outcome: use deleted, not_found, held or applied."), code="outcome")
        if not self.evidence:
            raise PropagationError(_("A confirmation needs evidence."), code="evidence")
        if self.outcome == Propagation.State.HELD and not self.reason.strip():
            raise PropagationError(_("Data held back needs a reason (PIPL Art 47)."), code="reason")


def propagation_confirm(
    *,
    actor: str,
    propagation: Propagation,
    outcome: str,
    evidence: dict[str, Any],
    reason: str = "",
    status: int | None = None,
) -> Propagation:
    """Record a system's confirmed outcome with its evidence; a terminal propagation never changes."""
    propagations_confirm(
        actor=actor,
        confirmations=[Confirmation(propagation.pk, outcome, evidence, reason, status)],
    )
    return Propagation.objects.select_related("deletion_request", "system").get(pk=propagation.pk)


def certificate_required(propagation: Propagation) -> bool:
    """After its contract ends, or face recognition ends, a processor keeps nothing and proves it with a
    certificate (PIPL Art 21; Measures Art 15, the cancellation's disposal)."""
    trigger = propagation.deletion_request.trigger
    ended = trigger == DeletionRequest.Trigger.CONTRACT_ENDED
    # Ending face recognition disposes of everything, processors' copies included: they prove it the same way.
    cancelled = trigger == DeletionRequest.Trigger.RECOGNITION_ENDED and propagation.system.kind == "processor"
    return ended or cancelled


def _check_fits(propagation: Propagation, confirmation: Confirmation) -> None:
    action = propagation.deletion_request.action
    if confirmation.outcome not in states.ANSWERS[action].values():
        raise PropagationError(
            _("An instruction to %(action)s cannot end as %(outcome)s.")
            % {"action": states.Action(action).label, "outcome": states.State(confirmation.outcome).label},
            code="outcome",
        )


def _check_processor_end(propagation: Propagation, confirmation: Confirmation) -> None:
    if not certificate_required(propagation):
        return
    if confirmation.outcome == Propagation.State.HELD:
        raise PropagationError(
            _(
                "A processor keeps nothing once its contract or face recognition has ended: return or delete it "
                "(PIPL Art 21)."
            ),
            code="processor_held",
        )
    if not re.fullmatch(r"[0-9a-f]{64}", str(confirmation.evidence.get("certificate_sha256", ""))):
        raise PropagationError(
            _(
                "Its contract or face recognition has ended: the confirmation needs the processor's deletion "
                "certificate (its SHA-256 as certificate_sha256, or the file on the confirmation page)."
            ),
            code="certificate",
        )


# What recording a confirmation reads of each instruction, its deletion and its system (a batch is 500 rows:
# every column of three tables, the system's many among them, was most of its Python time).
CONFIRM_READS = (
    "state",
    "holding_id",
    "system_id",
    "deletion_request_id",
    "deletion_request__action",
    "deletion_request__trigger",
    "deletion_request__subject_id",
    "system__kind",
)


def propagations_confirm(*, actor: str, confirmations: list[Confirmation]) -> int:
    """Record many confirmed outcomes in one transaction (a batch answer, a device's acks).

    Every confirmation is checked first: one without evidence, or held
    without a reason, raises and nothing is written. Propagations already
    terminal are left as they are. Returns how many changed.
    """
    for confirmation in confirmations:
        confirmation.check()
    by_id = {c.propagation_id: c for c in confirmations}
    # The confirmations' events and the completions' (deletions, requests): one write.
    with transaction.atomic(), audit_batch():
        rows = list(
            # Their deletions are locked too: two workers confirming the same deletion's instructions then
            # take turns, so the second sees the first's confirmations and completes it. (Not their systems:
            # see LOCK_OWN.)
            Propagation.objects.select_for_update(of=("self", "deletion_request"))
            .filter(pk__in=by_id)
            .exclude(state__in=states.TERMINAL)
            .select_related("deletion_request", "system")
            .only(*CONFIRM_READS)
            .order_by("pk")
        )
        if not rows:
            return 0
        for p in rows:
            _check_fits(p, by_id[p.pk])
            _check_processor_end(p, by_id[p.pk])
        now = timezone.now()
        for p in rows:
            c = by_id[p.pk]
            p.state = _move(p, c.outcome)
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
        # A restriction was recorded on the holding when it was asked for: its confirmation changes no holding.
        deleting = [p for p in rows if p.deletion_request.action == DeletionRequest.Action.DELETE]
        held = [p.holding_id for p in deleting if p.state == Propagation.State.HELD]
        gone = [p.holding_id for p in deleting if p.state != Propagation.State.HELD]
        Holding.objects.filter(pk__in=gone).update(status=Holding.Status.DELETED, deleted_at=now)
        Holding.objects.filter(pk__in=held).update(status=Holding.Status.RETAINED)
        # At most once a minute per system (as last contact is): every confirmation writing the same few
        # system rows made all confirmations, and the deletions opening behind them, wait on one another.
        ProcessingSystem.objects.filter(pk__in={p.system_id for p in rows}).filter(
            Q(last_success_at__isnull=True) | Q(last_success_at__lt=now - SUCCESS_RESOLUTION)
        ).update(last_success_at=now)
        label = Propagation._meta.label_lower
        audit_record_rows(
            actor=actor,
            rows=[
                Row(
                    chain=p.audit_chain,
                    action=f"propagation.{p.state}",
                    object_type=label,
                    object_id=str(p.pk),
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
        if now - p.created_at > RETRY_WINDOW:
            return _fail(actor, p, error, permanent=False)
        base = dt.timedelta(seconds=settings.FACERIGHTS_RETRY_BASE_SECONDS)
        delay = min(base * 2 ** max(p.attempts - 1, 0), RETRY_CAP) * random.uniform(0.8, 1.2)  # noqa: S311
        p.retry_not_before = None
        if retry_after:
            delay = max(delay, min(dt.timedelta(seconds=retry_after), RETRY_AFTER_CAP))
            p.retry_not_before = now + min(dt.timedelta(seconds=retry_after), RETRY_AFTER_CAP)
        p.state = _move(p, Propagation.State.PENDING)
        p.last_error = error[:255]
        p.claimed_until = None
        p.next_attempt_at = now + delay
        p.save(update_fields=["state", "last_error", "claimed_until", "next_attempt_at", "retry_not_before"])
    return p


def propagations_recovered(*, system: ProcessingSystem) -> int:
    """A system answers again: whatever waits in backoff for it is due now, not hours later.

    Backoff spares a system that is down; once it confirms a delivery, making the
    rest wait out their doubled delays only makes deletions late. A wait the system
    asked for itself (Retry-After) is kept. Returns how many were brought forward.
    """
    now = timezone.now()
    moved = (
        Propagation.objects.filter(
            system=system,
            state__in=(Propagation.State.PENDING, Propagation.State.ESCALATED),
            next_attempt_at__gt=now,
        )
        .exclude(last_error="")
        .exclude(retry_not_before__gt=now)
        .filter(states.unclaimed(now))
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
    """Stop retrying on our own and hand the propagation to a person (escalated, with the failure recorded)."""
    p.last_error = error[:255]
    p.failure_permanent = permanent
    p.next_attempt_at = None
    p.claimed_until = None
    p.save(update_fields=["last_error", "failure_permanent", "next_attempt_at", "claimed_until"])
    audit_record(
        actor=actor, action="propagation.failed", target=p, data={"system": p.system_id, "permanent": permanent}
    )
    return _escalate(actor, p, reason="delivery_failed")


def propagation_escalate(*, actor: str, propagation: Propagation, reason: str) -> Propagation:
    """Hand a propagation to a person (failed, or past its deadline).

    The DPO is told when it is first escalated. The person is told only when it is late
    (`past_deadline`), once: a failure the DPO may still fix in time is not a delay yet.
    """
    with transaction.atomic():
        return _escalate(actor, _locked(propagation), reason=reason)


def _escalate(actor: str, p: Propagation, *, reason: str) -> Propagation:
    if p.is_terminal:
        return p
    late = reason == "past_deadline" and p.late_told_at is None
    if p.state == Propagation.State.ESCALATED and not late:
        return p  # a later failure only keeps it in the DPO's queue
    tell_dpo = p.escalated_at is None
    if p.state != Propagation.State.ESCALATED:
        states.check(p.state, Propagation.State.ESCALATED)
        p.state = Propagation.State.ESCALATED
        p.escalated_at = p.escalated_at or timezone.now()
    if late:
        p.late_told_at = timezone.now()
    p.save(update_fields=["state", "escalated_at", "late_told_at"])
    if tell_dpo or late:  # each is told once
        audit_record(
            actor=actor, action="propagation.escalated", target=p, data={"system": p.system_id, "reason": reason}
        )
        enqueue_on_commit("deletions.notify_escalation", p.pk, tell_dpo, late)
    return p


def propagation_retry_now(*, actor: str, propagation: Propagation) -> Propagation:
    """A person asks for another attempt now (after fixing a system's configuration, say)."""
    with transaction.atomic():
        p = _locked(propagation)
        if p.is_terminal:
            return p
        p.next_attempt_at = timezone.now()
        p.claimed_until = None
        p.save(update_fields=["next_attempt_at", "claimed_until"])
        audit_record(actor=actor, action="propagation.retry_requested", target=p, data={"system": p.system_id})
        enqueue_on_commit("deletions.dispatch", p.system_id)
    return p


# --- Completion --------------------------------------------------------------------------------

NOTIFY_CHUNK = 500


def _complete_if_done(actor: str, deletion_ids: set[int]) -> None:
    """Complete every deletion among these whose propagations are all terminal; a completed one never reopens."""
    unfinished = Propagation.objects.filter(deletion_request=OuterRef("pk")).exclude(state__in=states.TERMINAL)
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
    audit_record_many(actor=actor, entries=[Entry(action="deletion.completed", target=d) for d in done])
    requests_complete_done(actor=actor, request_ids=[d.request_id for d in done if d.request_id])
    logger.info(
        "%d deletions completed",
        len(done),
        extra={"deletions": [d.reference for d in done[:50]], "request_ids": trace_ids(done)},
    )
    done_ids = [d.pk for d in done]
    # A connection test's deletion is opened as the DPO's action (connection_tests.py): only those can be one.
    tests = [d.pk for d in done if d.trigger == DeletionRequest.Trigger.DPO_ACTION]
    if tests:
        connection_tests_complete(actor=actor, deletion_ids=tests)
    for start in range(0, len(done_ids), NOTIFY_CHUNK):
        enqueue_on_commit("deletions.notify_completed", done_ids[start : start + NOTIFY_CHUNK])
