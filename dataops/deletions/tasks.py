"""Celery tasks of the deletion ledger: thin wrappers that take ids and call services.

Every task is safe to run twice; the database says what is done, and the sweeper
on beat re-sends anything a lost message left behind. No task is ever scheduled
with a countdown: later work waits in a next_attempt_at column.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from facerights.queues import enqueue

from . import states
from .blocked import blocked_notify
from .bulk import bulk_job_run
from .contracts import contract_deletions_open, contracts_end_due
from .delivery import CHANNELS, system_deliver_due, systems_deliver_due, systems_of_deletions
from .delivery.pull import feeds_retention_advance
from .models import DeletionRequest, Propagation
from .notify import deletion_completed_send, escalation_send
from .propagations import propagation_escalate
from .retention import retention_enforce
from .shredding import subjects_shred_due


@shared_task(name="deletions.deliver", queue_kind="delivery", time_limit=300, soft_time_limit=280)
def deletions_deliver(deletion_ids: list[int]) -> int:
    """Deliver newly opened deletions: for each system they concern, what is due there now.

    A system that cannot receive them now (a draft, or paused) is named to the DPO at once.
    """
    blocked_notify(deletion_ids)
    delivered, more = systems_deliver_due(systems_of_deletions(deletion_ids))
    for system_id in more:  # more than one task carries: each system goes on in a fresh one
        enqueue("deletions.dispatch", system_id)
    return delivered


@shared_task(name="deletions.dispatch", queue_kind="delivery", time_limit=300, soft_time_limit=280)
def propagations_dispatch(system_id: int) -> int:
    """Deliver what is due for one system; if more is due than one task carries, continue in a fresh one."""
    delivered, more = system_deliver_due(system_id)
    if more:
        enqueue("deletions.dispatch", system_id)
    return delivered


@shared_task(name="deletions.sweep", queue_kind="delivery", time_limit=120, soft_time_limit=110)
def propagations_sweep() -> dict:
    """Every minute: dispatch whatever is due or stuck, and escalate what is past its deadline.

    This is the only way a retry is scheduled, so a lost message, a killed
    worker or a wiped broker costs at most a minute's delay.
    """
    now = timezone.now()
    delivering = [mode for mode, channel in CHANNELS.items() if channel.batch_size]
    system_ids = list(
        Propagation.objects.filter(states.due(now), system__integration__in=delivering)
        .values_list("system_id", flat=True)
        .distinct()
    )
    for system_id in system_ids:
        enqueue("deletions.dispatch", system_id)
    overdue = list(
        Propagation.objects.filter(late_told_at__isnull=True, deadline__lt=timezone.localdate(now))
        .exclude(state__in=states.TERMINAL)
        .values_list("pk", flat=True)[:1000]
    )
    for pk in overdue:
        propagation_escalate(actor="task:sweep", propagation=Propagation(pk=pk), reason="past_deadline")
    return {"systems": len(system_ids), "escalated": len(overdue)}


@shared_task(name="deletions.bulk_job", queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def bulk_job_task(job_id: int) -> None:
    bulk_job_run(job_id=job_id)


@shared_task(name="deletions.feed_retention", queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def feed_retention_task() -> None:
    """Every six hours: stop serving pull-feed instructions older than the feed's retention."""
    feeds_retention_advance()


@shared_task(name="deletions.notify_escalation", queue_kind="messages", time_limit=60, soft_time_limit=50)
def notify_escalation_task(propagation_id: int, dpo: bool = True, subject: bool = True) -> None:
    propagation = Propagation.objects.select_related("deletion_request__subject", "system__entity").get(
        pk=propagation_id
    )
    escalation_send(propagation, dpo=dpo, subject=subject)


@shared_task(name="deletions.notify_completed", queue_kind="messages", time_limit=300, soft_time_limit=280)
def notify_deletions_completed_task(deletion_ids: list[int]) -> None:
    for deletion in DeletionRequest.objects.filter(pk__in=deletion_ids).select_related("subject", "request"):
        deletion_completed_send(deletion)


@shared_task(name="deletions.shred_sweep", queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def subjects_shred_sweep() -> int:
    """Daily: crypto-shred the identifiers of people nothing is held about any more."""
    return subjects_shred_due(actor="task:shred")


@shared_task(name="deletions.retention_enforce", queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def retention_enforce_task() -> int:
    """Daily: open deletions for holdings past their retention (R12)."""
    return retention_enforce()


@shared_task(name="deletions.contracts_end", queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def contracts_end_task() -> int:
    """Daily: end the entrusted processors whose contract ran out, and delete what they hold (R13)."""
    return len(contracts_end_due())


@shared_task(name="deletions.contract_deletions_open", queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def contract_deletions_open_task(system_id: int, actor: str) -> int:
    """Open the deletions of an ended processor's holdings, in chunks (safe to run again)."""
    return contract_deletions_open(actor=actor, system_id=system_id)
