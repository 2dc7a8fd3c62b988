"""Celery tasks of the workbench: record exports, bulk actions, and the sweep for queued work."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db.models import Prefetch, Q
from django.utils import timezone

from facerights.queues import enqueue

from ..copies.models import DataExport
from ..deletions.models import BulkJob
from ..filings.documents import DOCUMENTS
from ..filings.models import Filing, FilingDocument
from .clocks import clocks_recompute
from .models import EvidenceExport
from .records import record_export_build

QUEUED_GRACE = dt.timedelta(minutes=5)


@shared_task(name="workbench.records_export", queue_kind="documents", time_limit=1800, soft_time_limit=1780)
def record_export_task(export_id: int) -> None:
    record_export_build(export_id=export_id)


@shared_task(name="workbench.queued_work_sweep", queue_kind="housekeeping", time_limit=120, soft_time_limit=110)
def queued_work_sweep() -> int:
    """Every five minutes: queue again what was recorded but never reached a worker.

    A copy, a record export, a bulk job or a filing document asked for while the
    broker was down (or wiped before a worker took it) waits in the database;
    this finds it. Building twice is harmless: each build checks what is done.
    """
    cutoff = timezone.now() - QUEUED_GRACE
    queued = 0
    for pk in DataExport.objects.filter(state=DataExport.State.QUEUED, created_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        queued += enqueue("copies.build", pk)
    for pk in EvidenceExport.objects.filter(state=EvidenceExport.State.QUEUED, created_at__lt=cutoff).values_list(
        "pk", flat=True
    ):
        queued += enqueue("workbench.records_export", pk)
    stalled = Q(state=BulkJob.State.QUEUED, created_at__lt=cutoff) | Q(
        state=BulkJob.State.RUNNING, claimed_until__lt=timezone.now()
    )  # never reached a worker, or its worker died
    for pk in BulkJob.objects.filter(stalled).values_list("pk", flat=True):
        queued += enqueue("deletions.bulk_job", pk)
    unfinished = (
        Filing.objects.filter(state=Filing.State.DRAFT, progress__lt=100)
        .exclude(snapshot_sha256="")
        .prefetch_related(Prefetch("documents", FilingDocument.objects.only("filing_id", "kind", "language")))
    )  # which documents exist, never their PDFs
    for filing in unfinished:
        built = {(document.kind, document.language) for document in filing.documents.all()}
        for kind, language in DOCUMENTS:
            if (kind, language) not in built:
                queued += enqueue("filings.build_document", filing.pk, kind, language)
    return queued


@shared_task(name="workbench.clocks_recompute", queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def clocks_recompute_task() -> int:
    """When a year's schedule is entered, and daily (a package update may bring one): provisional dates again."""
    return len(clocks_recompute(actor="task:clocks_recompute"))
