"""Celery tasks of dataops: thin wrappers that take ids and call services.

Every task is safe to run twice; the database says what is done, and the
sweepers on beat re-send anything a lost message left behind. No task is ever
scheduled with a countdown: later work waits in a next_attempt_at column.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from celery.signals import worker_process_init
from django.db.models import Prefetch, Q
from django.utils import timezone

from facerights.celery import enqueue

from .deletion import OPEN_STATES, propagation_escalate, propagations_claim, subjects_shred_due
from .models import DeletionRequest, ProcessingSystem, Propagation, Request
from .services import request_acknowledge

ACKNOWLEDGE_GRACE = dt.timedelta(minutes=2)


@worker_process_init.connect
def _warm_up_pdf_rendering(**kwargs) -> None:
    """Load the CJK fonts once per documents worker process, not on the first filing (seconds)."""
    from weasyprint import HTML

    from facerights.celery import app, queue_name

    if queue_name("documents") not in app.amqp.queues.consume_from:
        return  # a delivery or housekeeping worker: no PDFs, no need for the fonts in memory

    HTML(
        string='<html lang="zh-CN"><body style="font-family: Noto Sans CJK SC">备案 deletion</body></html>'
    ).write_pdf()


BATCHES_PER_TASK = 50
PUSH_BATCH = 500


@shared_task(queue_kind="delivery", time_limit=60, soft_time_limit=50)
def request_acknowledge_task(request_id: int) -> None:
    request_acknowledge(request_id=request_id, actor="task:request_acknowledge")


@shared_task(queue_kind="delivery", time_limit=120, soft_time_limit=110)
def request_acknowledge_sweep() -> int:
    """Re-send acknowledgements whose message was lost (runs every minute on beat)."""
    cutoff = timezone.now() - ACKNOWLEDGE_GRACE
    ids = list(
        Request.objects.filter(acknowledged_at__isnull=True, received_at__lt=cutoff).values_list("pk", flat=True)[:1000]
    )
    for request_id in ids:
        enqueue(request_acknowledge_task, request_id)
    return len(ids)


@shared_task(queue_kind="delivery", time_limit=300, soft_time_limit=280)
def propagations_dispatch(system_id: int) -> int:
    """Deliver what is due for one system: push in batches, manual by email; pull devices come to the feed."""
    from .delivery import manual, push

    system = ProcessingSystem.objects.filter(pk=system_id).first()
    if system is None or system.integration == ProcessingSystem.Integration.PULL:
        return 0
    if system.status == ProcessingSystem.Status.SUSPENDED:
        return 0  # paused: rows wait, due, until the system is resumed
    # A draft system receives its connection test, which activates it, and nothing else yet.
    tests_only = system.status == ProcessingSystem.Status.DRAFT
    delivered = 0
    for _batch in range(BATCHES_PER_TASK):
        limit = PUSH_BATCH if system.integration == ProcessingSystem.Integration.PUSH else 20
        batch = propagations_claim(system=system, limit=limit, tests_only=tests_only)
        if not batch:
            break
        if system.integration == ProcessingSystem.Integration.PUSH:
            push.deliver(system, batch)
        else:
            for propagation in batch:
                manual.notify_vendor(propagation)
        delivered += len(batch)
    else:
        enqueue(propagations_dispatch, system_id)  # more is due: continue in a fresh task
    return delivered


@shared_task(queue_kind="delivery", time_limit=120, soft_time_limit=110)
def propagations_sweep() -> dict:
    """Every minute: dispatch whatever is due or stuck, and escalate what is past its deadline.

    This is the only way a retry is scheduled, so a lost message, a killed
    worker or a wiped broker costs at most a minute's delay.
    """
    now = timezone.now()
    due = Q(state__in=OPEN_STATES, next_attempt_at__lte=now) & (
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )
    system_ids = list(
        Propagation.objects.filter(due)
        .exclude(system__integration=ProcessingSystem.Integration.PULL)
        .values_list("system_id", flat=True)
        .distinct()
    )
    for system_id in system_ids:
        enqueue(propagations_dispatch, system_id)
    overdue = list(
        Propagation.objects.filter(escalated_at__isnull=True, deadline__lt=timezone.localdate(now))
        .exclude(state__in=Propagation.TERMINAL)
        .values_list("pk", flat=True)[:1000]
    )
    for pk in overdue:
        propagation_escalate(actor="task:sweep", propagation=Propagation(pk=pk), reason="past_deadline")
    return {"systems": len(system_ids), "escalated": len(overdue)}


@shared_task(queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def feed_retention_advance() -> None:
    from .delivery.pull import feed_retention_advance as advance

    for system in ProcessingSystem.objects.filter(integration=ProcessingSystem.Integration.PULL):
        advance(system)


@shared_task(queue_kind="delivery", time_limit=60, soft_time_limit=50)
def notify_escalation_task(propagation_id: int) -> None:
    from .notify import escalation_send

    propagation = Propagation.objects.select_related("deletion_request__subject", "system__entity").get(
        pk=propagation_id
    )
    escalation_send(propagation)


@shared_task(queue_kind="delivery", time_limit=300, soft_time_limit=280)
def notify_deletions_completed_task(deletion_ids: list[int]) -> None:
    from .notify import deletion_completed_send

    for deletion in DeletionRequest.objects.filter(pk__in=deletion_ids).select_related("subject"):
        deletion_completed_send(deletion)


@shared_task(queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def subjects_shred_sweep() -> int:
    """Daily: crypto-shred the identifiers of people nothing is held about any more."""
    return subjects_shred_due(actor="task:shred")


@shared_task(queue_kind="delivery", time_limit=60, soft_time_limit=50)
def notify_request_task(request_id: int, event: str) -> None:
    from .notify import request_send

    request = Request.objects.select_related("subject").filter(pk=request_id).first()
    if request is not None:
        request_send(request, event)


@shared_task(queue_kind="documents", time_limit=600, soft_time_limit=580)
def export_build_task(export_id: int) -> None:
    from .exports import export_build

    export_build(export_id=export_id)


@shared_task(queue_kind="housekeeping", time_limit=300, soft_time_limit=280)
def exports_expire_task() -> int:
    from .exports import exports_expire

    return exports_expire()


@shared_task(queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def notify_notice_changed_task(notice_id: int) -> int:
    from consent.models import Notice

    from .notify import notice_changed_send

    notice = Notice.objects.filter(pk=notice_id).first()
    return notice_changed_send(notice) if notice else 0


@shared_task(queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def retention_enforce_task() -> int:
    """Daily: open deletions for holdings past their retention (R12)."""
    from .retention import retention_enforce

    return retention_enforce()


@shared_task(queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def person_counts_task() -> int:
    """Daily: count the distinct people each entity stores (the filing threshold, R21)."""
    from .counting import person_counts_take

    return len(person_counts_take())


@shared_task(queue_kind="documents", time_limit=1800, soft_time_limit=1780)
def evidence_export_task(export_id: int) -> None:
    from .evidence import evidence_export_build

    evidence_export_build(export_id=export_id)


@shared_task(queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def bulk_job_task(job_id: int) -> None:
    from .bulk import bulk_job_run

    bulk_job_run(job_id=job_id)


@shared_task(queue_kind="documents", time_limit=900, soft_time_limit=880)
def filing_build_task(filing_id: int, kind: str, language: str) -> None:
    """One filing document; the six of a filing are built side by side by the workers."""
    from .filings import filing_build_document

    filing_build_document(filing_id=filing_id, kind=kind, language=language)


@shared_task(queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def filing_changes_task() -> int:
    """Daily: compare each filed entity's registry with its last submitted filing (R22)."""
    from .filings import filing_change_check
    from .models import LegalEntity

    return sum(
        1
        for entity in LegalEntity.objects.filter(filings__state__in=["submitted", "acknowledged"]).distinct()
        if filing_change_check(entity=entity)
    )


QUEUED_GRACE = dt.timedelta(minutes=5)


@shared_task(queue_kind="housekeeping", time_limit=120, soft_time_limit=110)
def queued_work_sweep() -> int:
    """Every five minutes: queue again what was recorded but never reached a worker.

    A copy, an evidence export, a bulk job or a filing document asked for while
    the broker was down (or wiped before a worker took it) waits in the database;
    this finds it. Building twice is harmless: each build checks what is done.
    """
    from .filings import DOCUMENTS
    from .models import BulkJob, DataExport, EvidenceExport, Filing, FilingDocument

    cutoff = timezone.now() - QUEUED_GRACE
    queued = 0
    for pk in DataExport.objects.filter(state=DataExport.State.QUEUED, created_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        queued += enqueue(export_build_task, pk)
    for pk in EvidenceExport.objects.filter(state=EvidenceExport.State.QUEUED, created_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        queued += enqueue(evidence_export_task, pk)
    for pk in BulkJob.objects.filter(state=BulkJob.State.QUEUED, created_at__lt=cutoff).values_list("pk", flat=True):
        queued += enqueue(bulk_job_task, pk)
    unfinished = (
        Filing.objects.filter(state=Filing.State.DRAFT, progress__lt=100)
        .exclude(snapshot_sha256="")
        .prefetch_related(Prefetch("documents", FilingDocument.objects.only("filing_id", "kind", "language")))
    )  # which documents exist, never their PDFs
    for filing in unfinished:
        built = {(document.kind, document.language) for document in filing.documents.all()}
        for kind, language in DOCUMENTS:
            if (kind, language) not in built:
                queued += enqueue(filing_build_task, filing.pk, kind, language)
    return queued
