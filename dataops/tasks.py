"""Celery tasks of dataops: thin wrappers that take ids and call services.

Every task is safe to run twice; the database says what is done, and a
sweeper on beat re-sends anything a lost message left behind.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from .models import Request
from .services import request_acknowledge

ACKNOWLEDGE_GRACE = dt.timedelta(minutes=2)


@shared_task(time_limit=60, soft_time_limit=50)
def request_acknowledge_task(request_id: int) -> None:
    request_acknowledge(request_id=request_id, actor="task:request_acknowledge")


@shared_task(time_limit=120, soft_time_limit=110)
def request_acknowledge_sweep() -> int:
    """Re-send acknowledgements whose message was lost (runs every minute on beat)."""
    cutoff = timezone.now() - ACKNOWLEDGE_GRACE
    ids = list(
        Request.objects.filter(acknowledged_at__isnull=True, received_at__lt=cutoff).values_list("pk", flat=True)[:1000]
    )
    for request_id in ids:
        request_acknowledge_task.delay(request_id)
    return len(ids)
