"""Celery tasks of filings: the daily count, the daily change check, and one filing document each."""

from __future__ import annotations

from celery import current_app, shared_task
from celery.signals import worker_process_init

from facerights.pdf import fonts_warm_up
from facerights.queues import queue_name

from .changes import filing_change_check, recognition_deletions_open, recognition_deletions_resume
from .counting import person_counts_take
from .documents import filing_build_document
from .selectors import entities_filed


@worker_process_init.connect
def _warm_up_pdf_rendering(**kwargs) -> None:
    """Load the CJK fonts once per documents worker process, not on the first filing (seconds)."""
    if queue_name("documents") in current_app.amqp.queues.consume_from:
        fonts_warm_up()  # a delivery or housekeeping worker needs no fonts in memory


@shared_task(name="filings.person_counts", queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def person_counts_task() -> int:
    """Daily: count the distinct people each entity stores (the filing threshold, R21)."""
    return len(person_counts_take())


@shared_task(name="filings.build_document", queue_kind="documents", time_limit=900, soft_time_limit=880)
def filing_build_task(filing_id: int, kind: str, language: str) -> None:
    """One filing document; the six of a filing are built side by side by the workers."""
    filing_build_document(filing_id=filing_id, kind=kind, language=language)


@shared_task(name="filings.changes_check", queue_kind="housekeeping", time_limit=1800, soft_time_limit=1780)
def filing_changes_task() -> int:
    """Daily: compare each filed entity's registry with its last submitted filing (R22)."""
    return sum(1 for entity in entities_filed() if filing_change_check(entity=entity))


@shared_task(name="filings.recognition_deletions_open", queue_kind="delivery", time_limit=3600, soft_time_limit=3580)
def recognition_deletions_open_task(entity_id: int, actor: str) -> int:
    """Open the deletions of an entity that ended face recognition, in chunks (the cancellation, R23)."""
    return recognition_deletions_open(actor=actor, entity_id=entity_id)


@shared_task(
    name="filings.recognition_deletions_resume", queue_kind="housekeeping", time_limit=600, soft_time_limit=580
)
def recognition_deletions_resume_task() -> int:
    """Daily: finish the opening for any ended entity whose systems still hold someone."""
    return recognition_deletions_resume()
