"""Replaying deletions after a restore from backup, from the tombstone journal.

A restored database has forgotten every deletion made after its backup was
taken: the withdrawn consents are active again, the deletion requests are
gone, the shredded identifiers are readable. `deletions_replay` reads the
journal (facerights.journal), which lives outside the database, and applies
each event again through the ordinary services. First, before anything else
takes a number:

- `feed.reserved`: each pull system's feed counter is moved up to the last
  number it had handed out. A restore rewinds the counter, and a device whose
  cursor is already past the rewound number would skip every instruction
  numbered below its cursor, the replayed ones included.

Then in time order:

- `consent.withdrawn`: the same record (id, subject, system and time given
  all match) is withdrawn again, at its original time;
- `deletion.opened`: unless a deletion with its reference exists, a deletion
  is opened under that reference, at its original time, for the holdings it
  covered that are still live;
- `subject.shredded`: the subject's identifiers are shredded again.

Replaying is idempotent: an event the database already reflects is counted
and left alone, so the whole journal may be replayed after any restore.
Events about subjects, consents or holdings the database does not know (made
after the backup) are counted and skipped: what the backup never held cannot
come back. Nothing here reads or prints personal data.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from consent.models import ConsentRecord, DataSubject
from consent.services import Provenance, consent_withdraw, subject_shred
from facerights.audit import audit_record
from facerights.journal import Tombstone, journal_read

from ..registry.models import Holding, ProcessingSystem
from .models import DeletionRequest
from .opening import LIVE_HOLDING, deletion_request_open

ACTOR = "command:replay_deletions"

REPLAYED = "replayed"
ALREADY_APPLIED = "already_applied"
UNKNOWN = "unknown"  # the subject, consent or holdings are not in this database (made after the backup)
OUTCOMES = (REPLAYED, ALREADY_APPLIED, UNKNOWN)


@dataclass
class ReplayReport:
    """How many events of each kind were replayed, already applied, or unknown here."""

    dry_run: bool
    files: int = 0
    unreadable: int = 0
    counts: dict[str, Counter] = field(default_factory=dict)

    def add(self, kind: str, outcome: str) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += 1

    @property
    def replayed(self) -> int:
        return sum(c[REPLAYED] for c in self.counts.values())


def deletions_replay(
    *,
    actor: str = ACTOR,
    directory: Path | None = None,
    since: dt.datetime | None = None,
    dry_run: bool = False,
) -> ReplayReport:
    """Apply again every journaled deletion the database does not reflect; safe to run any number of times.

    Each event is applied in its own transaction by its service, which
    journals it again: a second restore of the same backup replays the
    replay too.
    """
    journal = journal_read(directory, since=since)
    report = ReplayReport(dry_run=dry_run, files=journal.files, unreadable=journal.unreadable)
    feeds = [t for t in journal.tombstones if t.kind == "feed.reserved"]
    for tombstone in feeds:
        report.add(tombstone.kind, _feed_reserved(tombstone, actor=actor, dry_run=dry_run))
    for tombstone in journal.tombstones:
        if tombstone.kind == "feed.reserved":
            continue
        replay = REPLAYERS.get(tombstone.kind)
        # A kind this version does not know is counted, never guessed at.
        outcome = replay(tombstone, actor=actor, dry_run=dry_run) if replay else UNKNOWN
        report.add(tombstone.kind, outcome)
    return report


def _feed_reserved(tombstone: Tombstone, *, actor: str, dry_run: bool) -> str:
    outcomes = set()
    for system_id, last in sorted(tombstone.data["feeds"].items()):
        with transaction.atomic():
            system = ProcessingSystem.objects.select_for_update().filter(pk=int(system_id)).first()
            if system is None:
                outcomes.add(UNKNOWN)
            elif system.feed_seq >= last:
                outcomes.add(ALREADY_APPLIED)
            else:
                outcomes.add(REPLAYED)
                if not dry_run:
                    ProcessingSystem.objects.filter(pk=system.pk).update(feed_seq=last)
                    audit_record(
                        actor=actor,
                        action="system.feed_advanced",
                        target=system,
                        data={"from": system.feed_seq, "to": last},
                    )
    return next((o for o in OUTCOMES if o in outcomes), ALREADY_APPLIED)


def _subject(tombstone: Tombstone) -> DataSubject | None:
    subject_uuid = tombstone.data.get("subject")
    if subject_uuid is None:  # what uuid=None found: no subject (every subject has a uuid)
        return None
    return DataSubject.objects.filter(uuid=subject_uuid).first()


def _consent_withdrawn(tombstone: Tombstone, *, actor: str, dry_run: bool) -> str:
    subject = _subject(tombstone)
    if subject is None:
        return UNKNOWN
    # Row ids restart from the backup's sequences, so the id alone could name a
    # consent given after the restore: subject, system and time must match too.
    record = ConsentRecord.objects.filter(
        pk=tombstone.data["record"],
        subject=subject,
        system_id=tombstone.data["system"],
        given_at=dt.datetime.fromisoformat(tombstone.data["given_at"]),
    ).first()
    if record is None:
        return UNKNOWN
    if record.state in (ConsentRecord.State.WITHDRAWN, ConsentRecord.State.SUPERSEDED):
        return ALREADY_APPLIED
    if not dry_run:
        provenance = Provenance(channel=tombstone.data.get("channel", ""))
        consent_withdraw(actor=actor, record=record, provenance=provenance, at=tombstone.at)
    return REPLAYED


def _deletion_opened(tombstone: Tombstone, *, actor: str, dry_run: bool) -> str:
    subject = _subject(tombstone)
    if subject is None:
        return UNKNOWN
    reference = tombstone.data["reference"]
    existing = DeletionRequest.objects.filter(reference=reference).values_list("subject_id", flat=True).first()
    if existing == subject.pk:
        return ALREADY_APPLIED
    covered = {(h["id"], h["system"]) for h in tombstone.data.get("holdings", [])}
    # Only the holdings the deletion covered: same row, same system, enrolled
    # before the person asked. A holding enrolled later is not theirs to delete.
    holdings = [
        h
        for h in Holding.objects.filter(
            pk__in=[pk for pk, _ in covered], subject=subject, enrolled_at__lte=tombstone.at
        )
        if (h.pk, h.system_id) in covered
    ]
    live = [h for h in holdings if h.status in LIVE_HOLDING]
    if not live:
        return ALREADY_APPLIED if holdings else UNKNOWN
    if not dry_run:
        opened = deletion_request_open(
            actor=actor,
            subject=subject,
            trigger=tombstone.data["trigger"],
            systems=list(ProcessingSystem.objects.filter(pk__in={h.system_id for h in live})),
            at=tombstone.at,
            # Another subject's deletion holding this reference is a one-in-10^14 accident: take a new one.
            reference=reference if existing is None else None,
        )
        if opened is None:
            return ALREADY_APPLIED  # another deletion took these holdings meanwhile
    return REPLAYED


def _subject_shredded(tombstone: Tombstone, *, actor: str, dry_run: bool) -> str:
    subject = _subject(tombstone)
    if subject is None:
        return UNKNOWN
    if subject.shredded_at is not None:
        return ALREADY_APPLIED
    if not dry_run:
        subject_shred(actor=actor, subject=subject)
    return REPLAYED


REPLAYERS = {
    "consent.withdrawn": _consent_withdrawn,
    "deletion.opened": _deletion_opened,
    "subject.shredded": _subject_shredded,
}
