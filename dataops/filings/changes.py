"""Changes to filed information, and ending face recognition (Measures Art 15).

A daily check compares the registry with the last submitted filing; a difference opens a
"substantive change?" review with its own 30-working-day clock, and a yes opens a change
filing. Ending face recognition retires the entity's systems, deletes everywhere and
opens the cancellation filing."""

from __future__ import annotations

import datetime as dt

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights.audit import audit_record
from facerights.present import due_text
from facerights.queues import enqueue_on_commit

from ..deletions.models import DeletionRequest
from ..deletions.opening import LIVE_HOLDING, deletion_requests_open
from ..registry.models import Holding, LegalEntity
from ..registry.services import system_retire
from .models import ChangeReview, Filing, FilingObligation
from .obligations import filing_due
from .services import filing_create
from .snapshot import fingerprint, registry_sections, snapshot_diff

# --- Changes and cancellation -------------------------------------------------------------------


def filing_change_check(*, entity: LegalEntity, today: dt.date | None = None) -> ChangeReview | None:
    """Compare the registry with the last submitted filing; a difference opens a review (once per difference)."""
    today = today or timezone.localdate()
    last = (
        entity.filings.filter(state__in=[Filing.State.SUBMITTED, Filing.State.ACKNOWLEDGED])
        .order_by("-submitted_at")
        .first()
    )
    if last is None or not last.snapshot:
        return None
    changes = snapshot_diff(last.snapshot, registry_sections(entity, today))
    if not changes:
        return None
    digest = fingerprint(changes)
    if entity.change_reviews.filter(changes_sha256=digest).exists():
        return None
    due = filing_due(today)
    with transaction.atomic():
        review = ChangeReview(entity=entity, detected_on=today, changes=changes, changes_sha256=digest)
        review.due_set(due)
        review.save()
        audit_record(
            actor="task:filing_changes",
            action="filing.change_detected",
            target=entity,
            data={"review": review.pk, "fields": len(changes)},
        )
        address = entity.dpo_email
        transaction.on_commit(
            lambda: send_mail(
                _("Filed information of %(entity)s changed: is it substantive?") % {"entity": entity.name_zh},
                _(
                    "Decide in the admin (Change reviews). A substantive change is filed within 30 working days, by %(due)s."
                )
                % {"due": due_text(due, "zh")},
                None,
                [address],
            )
        )
    return review


def change_review_decide(*, actor: str, review: ChangeReview, substantive: bool) -> ChangeReview:
    with transaction.atomic():
        review = ChangeReview.objects.select_for_update().get(pk=review.pk)
        if review.decided_at is not None:
            return review
        review.substantive = substantive
        review.decided_by = actor
        review.decided_at = timezone.now()
        if substantive:
            obligation = FilingObligation(
                entity=review.entity, kind=FilingObligation.Kind.CHANGE, triggered_on=review.detected_on
            )
            obligation.due_set(review.due)
            obligation.save()
            review.obligation = obligation
        review.save()
        audit_record(
            actor=actor,
            action="filing.change_decided",
            target=review.entity,
            data={"review": review.pk, "substantive": substantive},
        )
        if substantive:
            filing_create(
                actor=actor, entity=review.entity, kind=FilingObligation.Kind.CHANGE, obligation=review.obligation
            )
    return review


def recognition_end(*, actor: str, entity: LegalEntity, on: dt.date | None = None) -> Filing:
    """End face recognition for an entity: retire its systems, open the cancellation filing, delete everywhere.

    The systems are retired at once (no one is recognised from now on) and the filing
    opens; the deletions, one per person (100,000 and more), are opened by a background
    task in chunks (`recognition_deletions_open`), which beat runs again daily until
    nothing the entity's systems hold is left undeleted.
    """
    on = on or timezone.localdate()
    with transaction.atomic():
        entity = LegalEntity.objects.select_for_update().get(pk=entity.pk)
        if entity.recognition_ended_on is None:
            entity.recognition_ended_on = on
            entity.save(update_fields=["recognition_ended_on"])
            audit_record(actor=actor, action="entity.recognition_ended", target=entity, data={"on": on.isoformat()})
        for system in entity.systems.all():
            system_retire(actor=actor, system=system)
        obligation = entity.filing_obligations.filter(kind=FilingObligation.Kind.CANCELLATION).first()
        if obligation is None:
            obligation = FilingObligation(entity=entity, kind=FilingObligation.Kind.CANCELLATION, triggered_on=on)
            obligation.due_set(filing_due(on))
            obligation.save()
        filing = obligation.filings.first() or filing_create(
            actor=actor, entity=entity, kind=FilingObligation.Kind.CANCELLATION, obligation=obligation
        )
        enqueue_on_commit("filings.recognition_deletions_open", entity.pk, actor)
    return filing


def recognition_deletions_open(*, actor: str, entity_id: int) -> int:
    """Open a deletion for everyone an entity that ended face recognition still holds; returns how many.

    Safe to run again: a holding already being deleted is no longer live.
    """
    entity = LegalEntity.objects.get(pk=entity_id)
    if entity.recognition_ended_on is None:
        return 0
    subject_ids = list(
        Holding.objects.filter(system__entity=entity, status__in=LIVE_HOLDING)
        .values_list("subject_id", flat=True)
        .distinct()
    )
    opened = deletion_requests_open(
        actor=actor,
        subject_ids=subject_ids,
        trigger=DeletionRequest.Trigger.RECOGNITION_ENDED,
        systems=list(entity.systems.all()),
    )
    return len(opened)


def recognition_deletions_resume(*, actor: str = "task:recognition_end") -> int:
    """Daily: queue the opening again for every ended entity whose systems still hold someone."""
    entities = (
        Holding.objects.filter(system__entity__recognition_ended_on__isnull=False, status__in=LIVE_HOLDING)
        .values_list("system__entity_id", flat=True)
        .distinct()
    )
    queued = 0
    for entity_id in entities:
        enqueue_on_commit("filings.recognition_deletions_open", entity_id, actor)
        queued += 1
    return queued
