"""Retention (R12; PIPL Arts 19, 47): when a holding's retention period ends, delete it everywhere."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from ..registry.models import Holding, ProcessingSystem
from .models import DeletionRequest
from .opening import LIVE_HOLDING, deletion_requests_open


@dataclass
class Due:
    system: ProcessingSystem
    holdings: int


def retention_due(*, today: dt.date | None = None) -> list[Due]:
    """What would be opened now: holdings past their retention, per system (the dry run)."""
    today = today or timezone.localdate()
    counts = dict(
        Holding.objects.filter(status__in=LIVE_HOLDING, retention_until__lt=today, subject__is_synthetic=False)
        .values("system")
        .annotate(n=Count("pk"))
        .values_list("system", "n")
    )
    systems = ProcessingSystem.objects.in_bulk(list(counts))
    return [Due(systems[pk], n) for pk, n in sorted(counts.items())]


def retention_enforce(*, actor: str = "task:retention", today: dt.date | None = None) -> int:
    """Open a deletion, through the propagation engine, for every holding past its retention.

    Safe to run twice: an opened holding is no longer live, so it is not opened again.
    """
    today = today or timezone.localdate()
    opened = 0
    for due in retention_due(today=today):
        subject_ids = list(
            Holding.objects.filter(
                system=due.system, status__in=LIVE_HOLDING, retention_until__lt=today, subject__is_synthetic=False
            ).values_list("subject_id", flat=True)
        )
        opened += len(
            deletion_requests_open(
                actor=actor,
                subject_ids=subject_ids,
                trigger=DeletionRequest.Trigger.RETENTION_EXPIRED,
                systems=[due.system],
            )
        )
    return opened
