"""Opening deletions: one DeletionRequest per person and one Propagation per system that holds them.

Everything is written in one transaction per chunk of people, with the audit events
and, just before the commit, the tombstone journal (facerights/journal.py); one
message per chunk is sent after commit for a worker to deliver it
(`deletions.deliver`). Holdings already being deleted are left to the deletion that
holds them, so opening twice opens nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import F
from django.utils import timezone

from consent.models import DataSubject
from facerights.audit import Entry, Row, audit_record_many, audit_record_rows
from facerights.db import insert_columns
from facerights.due import Due, Moved
from facerights.journal import Tombstone, journal_append
from facerights.logs import request_id_get
from facerights.queues import enqueue_on_commit
from facerights.workdays import due_after

from ..registry.models import Holding, ProcessingSystem
from ..requests.clocks import request_due, request_response_days
from ..requests.models import Request, new_request_reference
from . import states
from .models import DeletionRequest, Propagation

logger = logging.getLogger(__name__)


def trace_ids(deletions: Iterable[DeletionRequest]) -> list[str]:
    """The request ids that opened these deletions (facerights.logs), for log lines about them."""
    return sorted({d.trace_id for d in deletions if d.trace_id})[:50]


LIVE_HOLDING = (Holding.Status.ACTIVE, Holding.Status.RETAINED, Holding.Status.RESTRICTED)


def deletion_deadline(system: ProcessingSystem, opened_on: dt.date, legal_due: Due) -> dt.date:
    """The date a system is asked to confirm by: its agreed working days, never past the legal due date.

    When a year in the period has no published schedule, the earliest the date can turn out
    to be is used: the system is asked to confirm early rather than late.
    """
    return min(due_after(opened_on, system.deletion_working_days).earliest, legal_due.earliest)


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
    at = at or timezone.now()
    due = _due(request, at)
    references = {subject.pk: reference} if reference else {}
    opened = _open_chunk(actor, [subject.pk], trigger, systems, request, at, due, references)
    if not opened:
        return None
    ((pk, _subject_id, written_reference),) = opened
    # As written, not read back.
    deletion = DeletionRequest(
        pk=pk,
        reference=written_reference,
        subject=subject,
        trigger=trigger,
        request=request,
        created_at=at,
        trace_id=request_id_get(),
    )
    deletion.due_set(due)
    deletion._state.adding, deletion._state.db = False, DEFAULT_DB_ALIAS
    return deletion


def _due(request: Request | None, at: dt.datetime) -> Due:
    """When a deletion opened at `at` is due: its request's due date, else the legal period from that day."""
    if request is not None:
        return request.due
    return request_due(timezone.localdate(at), request_response_days(Request.Type.DELETION))


OPEN_CHUNK = 2000


def deletion_requests_open(
    *,
    actor: str,
    subject_ids: list[int],
    trigger: str,
    systems: list[ProcessingSystem] | None = None,
    request: Request | None = None,
    at: dt.datetime | None = None,
    references: dict[int, str] | None = None,
) -> list[int]:
    """Open one deletion per subject, with one propagation per holding system, in bulk; return their ids.

    Each chunk of subjects is one transaction: a subject's request, its
    propagations, its holdings' new status and its audit event commit together,
    and the chunk's tombstones are journaled just before that commit. One
    `deletions.deliver` message per chunk is sent after its commit. Rows are
    written a column at a time (facerights.db.insert_columns), so a mass deletion
    (face recognition ended: everyone at once) builds no model instance per person.
    The legal due date is worked out once, for every chunk.
    """
    at = at or timezone.now()
    due = _due(request, at)
    references = references or {}
    opened: list[int] = []
    for start in range(0, len(subject_ids), OPEN_CHUNK):
        chunk = subject_ids[start : start + OPEN_CHUNK]
        opened.extend(
            pk for pk, _subject, _reference in _open_chunk(actor, chunk, trigger, systems, request, at, due, references)
        )
    return opened


@dataclass(frozen=True)
class _Live:
    """A live holding, as opening reads it."""

    id: int
    subject_id: int
    system_id: int
    subject_key: str


def _open_chunk(
    actor: str,
    subject_ids: list[int],
    trigger: str,
    systems: list[ProcessingSystem] | None,
    request: Request | None,
    at: dt.datetime,
    due: Due,
    references: dict[int, str],
) -> list[tuple[int, int, str]]:
    """Open the deletions of these subjects in one transaction; return each one's id, subject and reference."""
    today = timezone.localdate(at)
    # No savepoint inside a caller's transaction: a chunk that fails fails the caller's change too.
    with transaction.atomic(savepoint=False):
        # The holdings alone are locked: locking their systems through the join made every opening for the
        # same systems wait on the others (and on workers confirming) until they committed.
        live = Holding.objects.select_for_update(of=("self",)).filter(
            subject_id__in=subject_ids, status__in=LIVE_HOLDING
        )
        if systems is not None:
            live = live.filter(system__in=systems)
        holdings = [
            _Live(*row)
            for row in live.order_by("subject_id", "system_id").values_list("id", "subject", "system", "subject_key")
        ]
        if not holdings:
            return []
        system_by_id = ProcessingSystem.objects.in_bulk({h.system_id for h in holdings})
        subjects = sorted({h.subject_id for h in holdings})
        trace_id = request_id_get()
        columns: dict[str, Any] = {
            "subject": subjects,
            "trigger": trigger,
            "request": request.pk if request else None,
            "due_on": due.on,
            "due_earliest": due.earliest,
            "due_on_provisional": due.provisional,
            "created_at": at,
            "trace_id": trace_id,
        }
        if references:
            columns["reference"] = [references.get(sid) or new_request_reference() for sid in subjects]
        deletions = insert_columns(DeletionRequest, len(subjects), columns, returning=("pk", "subject", "reference"))
        by_subject = {subject_id: pk for pk, subject_id, _reference in deletions}
        deadlines = {pk: deletion_deadline(system, today, due) for pk, system in system_by_id.items()}
        next_seq = _reserve_feed_numbers([h.system_id for h in holdings], system_by_id)
        feed_seqs: list[int | None] = []
        for holding in holdings:
            feed_seq = next_seq.get(holding.system_id)
            if feed_seq is not None:
                next_seq[holding.system_id] += 1
            feed_seqs.append(feed_seq)
        insert_columns(
            Propagation,
            len(holdings),
            {
                "deletion_request": [by_subject[h.subject_id] for h in holdings],
                "system": [h.system_id for h in holdings],
                "holding": [h.id for h in holdings],
                "subject_key": [h.subject_key for h in holdings],
                "deadline": [deadlines[h.system_id] for h in holdings],
                "feed_seq": feed_seqs,
                "next_attempt_at": at,
                "created_at": at,
            },
            returning=(),
        )
        Holding.objects.filter(pk__in=[h.id for h in holdings]).update(status=Holding.Status.DELETION_PENDING)
        systems_of: dict[int, list[int]] = {}
        for h in holdings:
            systems_of.setdefault(h.subject_id, []).append(h.system_id)
        label = DeletionRequest._meta.label_lower
        opened_data = {"trigger": trigger, "due_on": due.on.isoformat(), "provisional": due.provisional}
        audit_record_rows(
            actor=actor,
            rows=[
                Row(
                    chain=f"subject:{subject_id}",  # the person's chain, as DeletionRequest.audit_chain names it
                    action="deletion.opened",
                    object_type=label,
                    object_id=str(pk),
                    data={**opened_data, "systems": systems_of[subject_id]},
                )
                for pk, subject_id, _reference in deletions
            ],
        )
        _journal_opened(deletions, holdings, trigger, request, at, feed_next=next_seq)
        logger.info(
            "%d deletions opened, %d propagations",
            len(deletions),
            len(holdings),
            extra={"deletions": [reference for _pk, _subject, reference in deletions[:50]], "trigger": trigger},
        )
        # One message for the chunk: the worker delivers to each system (dataops/deletions/delivery/).
        enqueue_on_commit("deletions.deliver", [pk for pk, _subject, _reference in deletions])
    return deletions


def _journal_opened(
    deletions: list[tuple[int, int, str]],
    holdings: list[_Live],
    trigger: str,
    request: Request | None,
    at: dt.datetime,
    *,
    feed_next: dict[int, int],
) -> None:
    """Write each opened deletion to the tombstone journal, before the transaction commits.

    Ids and the reference only, no personal data. Synthetic subjects (connection
    tests) are left out: there is no person to bring back. The pull feed numbers
    taken are journaled for every deletion, synthetic or not: a restore rewinds
    each system's counter, and a device whose cursor is already past the
    rewound number would never read the instructions numbered below it.
    """
    people = dict(
        DataSubject.objects.filter(
            pk__in={subject_id for _pk, subject_id, _r in deletions}, is_synthetic=False
        ).values_list("pk", "uuid")
    )
    covered: dict[int, list[dict[str, int]]] = {}
    for h in holdings:
        covered.setdefault(h.subject_id, []).append({"id": h.id, "system": h.system_id})
    tombstones = [
        Tombstone(
            kind="deletion.opened",
            at=at,
            data={
                "subject": str(people[subject_id]),
                "reference": reference,
                "trigger": trigger,
                "request": request.reference if request else None,
                "holdings": covered[subject_id],
            },
        )
        for _pk, subject_id, reference in deletions
        if subject_id in people
    ]
    if feed_next:  # the last number taken on each pull system
        last = {str(pk): seq - 1 for pk, seq in feed_next.items()}
        tombstones.append(Tombstone(kind="feed.reserved", at=at, data={"feeds": last}))
    journal_append(tombstones)


def restriction_open(
    *, actor: str, subject: DataSubject, request: Request, holdings: list[Holding], lift: bool = False
) -> DeletionRequest | None:
    """Send a restriction (PIPL Art 44), or its lifting, to each system of these holdings that receives them.

    The holdings' status already says so, and the consent check answers by it at once; this
    carries the instruction to the systems through the ledger, as a deletion is carried, so
    each system confirms it applied it. Systems that do not receive restriction instructions
    (`receives_restrictions` off) learn it from the consent check only. Returns None when no
    system is to be told.
    """
    system_by_id = ProcessingSystem.objects.filter(receives_restrictions=True).in_bulk({h.system_id for h in holdings})
    holdings = [h for h in holdings if h.system_id in system_by_id]
    if not holdings:
        return None
    at = timezone.now()
    today = timezone.localdate(at)
    action = DeletionRequest.Action.LIFT_RESTRICTION if lift else DeletionRequest.Action.RESTRICT
    with transaction.atomic():
        instruction = DeletionRequest.objects.create(
            subject=subject,
            trigger=DeletionRequest.Trigger.SUBJECT_REQUEST,
            action=action,
            request=request,
            due_on=request.due.on,
            due_earliest=request.due.earliest,
            due_on_provisional=request.due.provisional,
            created_at=at,
            trace_id=request_id_get(),
        )
        next_seq = _reserve_feed_numbers([h.system_id for h in holdings], system_by_id)
        propagations = []
        for holding in sorted(holdings, key=lambda h: h.system_id):
            feed_seq = next_seq.get(holding.system_id)
            if feed_seq is not None:
                next_seq[holding.system_id] += 1
            propagations.append(
                Propagation(
                    deletion_request=instruction,
                    system_id=holding.system_id,
                    holding=holding,
                    subject_key=holding.subject_key,
                    deadline=deletion_deadline(system_by_id[holding.system_id], today, request.due),
                    next_attempt_at=at,
                    feed_seq=feed_seq,
                    created_at=at,
                )
            )
        Propagation.objects.bulk_create(propagations)
        audit_record_many(
            actor=actor,
            entries=[
                Entry(
                    action=f"instruction.{action}.opened",
                    target=instruction,
                    data={"systems": [p.system_id for p in propagations], "request": request.reference},
                )
            ],
        )
        enqueue_on_commit("deletions.deliver", [instruction.pk])
    return instruction


def _reserve_feed_numbers(system_ids: list[int], system_by_id: dict[int, ProcessingSystem]) -> dict[int, int]:
    """Take a block of feed numbers for each pull system among `system_ids` (one per instruction to it),
    under the system's row lock; return the first number of each block.

    The lock is held until commit, so a device never sees number n+1 before
    number n has committed.
    """
    wanted: dict[int, int] = {}
    for system_id in system_ids:
        if system_by_id[system_id].integration == ProcessingSystem.Integration.PULL:
            wanted[system_id] = wanted.get(system_id, 0) + 1
    first = {}
    for system_id in sorted(wanted):
        ProcessingSystem.objects.filter(pk=system_id).update(feed_seq=F("feed_seq") + wanted[system_id])
        last = ProcessingSystem.objects.values_list("feed_seq", flat=True).get(pk=system_id)
        first[system_id] = last - wanted[system_id] + 1
    return first


def deletions_due_recompute(*, actor: str) -> list[Moved]:
    """Compute again the due dates of open deletions and the deadlines of their open propagations.

    A deletion opened by a request follows it (requests_due_recompute runs first); one
    without follows the deletion policy from the day it opened. Returns the deletions moved.
    """
    moved: list[Moved] = []
    for deletion in (
        DeletionRequest.objects.filter(state=DeletionRequest.State.OPEN)
        .select_related("request")
        .iterator(chunk_size=500)
    ):
        opened_on = timezone.localdate(deletion.created_at)
        before = deletion.due
        if deletion.request is not None:
            after = deletion.request.due
        elif before.provisional:
            after = request_due(opened_on, request_response_days(Request.Type.DELETION))
        else:
            after = before
        with transaction.atomic():
            if after != before:
                DeletionRequest.objects.filter(pk=deletion.pk).update(
                    due_on=after.on, due_earliest=after.earliest, due_on_provisional=after.provisional
                )
                audit_record_many(
                    actor=actor,
                    entries=[
                        Entry(
                            action="deletion.due_recomputed", target=deletion, data={"provisional": after.provisional}
                        )
                    ],
                )
                moved.append(Moved(what=deletion.reference, before=before, after=after, dpo_email=""))
            propagations = list(
                Propagation.objects.select_for_update()
                .filter(deletion_request=deletion)
                .exclude(state__in=states.TERMINAL)
                .select_related("system")
            )
            for propagation in propagations:
                deadline = deletion_deadline(propagation.system, opened_on, after)
                if deadline != propagation.deadline:
                    Propagation.objects.filter(pk=propagation.pk).update(deadline=deadline)
                    audit_record_many(
                        actor=actor,
                        entries=[
                            Entry(
                                action="propagation.deadline_recomputed",
                                target=propagation,
                                data={"before": propagation.deadline.isoformat(), "after": deadline.isoformat()},
                            )
                        ],
                    )
    return moved
