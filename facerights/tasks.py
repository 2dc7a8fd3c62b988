from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from .anchors import audit_anchors_write
from .audit import audit_chain_verify, audit_record

logger = logging.getLogger(__name__)


@shared_task(
    name="facerights.audit_chain_verify", queue_kind="housekeeping", time_limit=30 * 60, soft_time_limit=29 * 60
)
def audit_chain_verify_task() -> int:
    """Verify every audit chain and record the outcome in the log itself (daily on beat)."""
    breaks = audit_chain_verify()
    for found in breaks:
        logger.error("audit chain broken: %s", found)
    with transaction.atomic():
        audit_record(
            actor="task:audit_chain_verify",
            action="audit.verified",
            data={"ok": not breaks, "broken_chains": [found.chain for found in breaks]},
        )
    return len(breaks)


@shared_task(
    name="facerights.audit_anchors_write", queue_kind="housekeeping", time_limit=30 * 60, soft_time_limit=29 * 60
)
def audit_anchors_write_task() -> str:
    """Daily: every audit chain's head, written outside the database (docs/backup-restore.md)."""
    return str(audit_anchors_write())
