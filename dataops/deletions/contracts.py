"""The end of an entrusted processor's contract (PIPL Art 21, R13).

When the contract ends, the processor must return or delete everything it holds and
keep nothing. FaceRights records the end, retires the system (it enrols no one new),
opens a deletion for everyone it holds with the trigger "processor contract ended",
and accepts only confirmations that carry the processor's deletion certificate
(`propagations.py`): a processor's "kept" is refused, since it may keep nothing.

Opening can be thousands of deletions, so it runs in a background task, in chunks,
and is safe to run again: a holding already being deleted is not opened twice.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights.audit import audit_record
from facerights.queues import enqueue_on_commit
from facerights.services import TransitionError

from ..registry.models import Holding, ProcessingSystem
from ..registry.services import system_retire
from .models import DeletionRequest
from .opening import LIVE_HOLDING, deletion_requests_open


def processor_contract_end(
    *, actor: str, system: ProcessingSystem, ended_on: dt.date | None = None
) -> ProcessingSystem:
    """Record that a processor's contract ended and start deleting everything it holds.

    Safe to repeat: a second call changes nothing and queues the opening again
    (which opens only what is still live).
    """
    ended_on = ended_on or timezone.localdate()
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        if system.kind != ProcessingSystem.Kind.PROCESSOR:
            raise TransitionError(_("Only an entrusted processor has a contract to end."), code="not_processor")
        if ended_on > timezone.localdate():
            raise TransitionError(_("A contract can be recorded as ended only once it has ended."), code="future")
        if system.contract_ended_on is None:
            system.contract_ended_on = ended_on
            system.save(update_fields=["contract_ended_on"])
            audit_record(actor=actor, action="system.contract_ended", target=system, data={"on": ended_on.isoformat()})
        system = system_retire(actor=actor, system=system)
        enqueue_on_commit("deletions.contract_deletions_open", system.pk, actor)
    return system


def contract_deletions_open(*, actor: str, system_id: int) -> int:
    """Open a deletion for everyone an ended processor still holds; returns how many were opened."""
    system = ProcessingSystem.objects.get(pk=system_id)
    if system.contract_ended_on is None:
        return 0
    subject_ids = list(
        Holding.objects.filter(system=system, status__in=LIVE_HOLDING, subject__is_synthetic=False)
        .values_list("subject_id", flat=True)
        .distinct()
    )
    opened = deletion_requests_open(
        actor=actor, subject_ids=subject_ids, trigger=DeletionRequest.Trigger.CONTRACT_ENDED, systems=[system]
    )
    return len(opened)


def contracts_end_due(*, actor: str = "task:contracts", today: dt.date | None = None) -> list[ProcessingSystem]:
    """Daily: end the processors whose contract's last day has passed, and finish any opening left undone."""
    today = today or timezone.localdate()
    ended = []
    for system in ProcessingSystem.objects.filter(
        kind=ProcessingSystem.Kind.PROCESSOR, contract_ends_on__lt=today, contract_ended_on__isnull=True
    ):
        ended.append(processor_contract_end(actor=actor, system=system, ended_on=system.contract_ends_on))
    unfinished = (
        Holding.objects.filter(system__contract_ended_on__isnull=False, status__in=LIVE_HOLDING)
        .values_list("system_id", flat=True)
        .distinct()
    )
    for system_id in unfinished:
        enqueue_on_commit("deletions.contract_deletions_open", system_id, actor)
    return ended
