"""Celery tasks of requests: thin wrappers that take ids and call services (facerights.queues sends them by name)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone

from facerights.queues import enqueue

from .models import Request
from .notify import dpo_alert_send, request_send
from .services import request_acknowledge, requests_alert_two_thirds

ACKNOWLEDGE_GRACE = dt.timedelta(minutes=2)


@shared_task(name="requests.acknowledge", queue_kind="messages", time_limit=60, soft_time_limit=50)
def request_acknowledge_task(request_id: int) -> None:
    request_acknowledge(request_id=request_id, actor="task:request_acknowledge")


@shared_task(name="requests.acknowledge_sweep", queue_kind="messages", time_limit=120, soft_time_limit=110)
def request_acknowledge_sweep() -> int:
    """Re-send acknowledgements whose message was lost (runs every minute on beat)."""
    cutoff = timezone.now() - ACKNOWLEDGE_GRACE
    ids = list(
        Request.objects.filter(acknowledged_at__isnull=True, received_at__lt=cutoff).values_list("pk", flat=True)[:1000]
    )
    for request_id in ids:
        enqueue("requests.acknowledge", request_id)
    return len(ids)


@shared_task(name="requests.notify", queue_kind="messages", time_limit=60, soft_time_limit=50)
def request_notify_task(request_id: int, event: str) -> None:
    request = Request.objects.select_related("subject").filter(pk=request_id).first()
    if request is not None:
        request_send(request, event)


@shared_task(name="requests.reminder_sweep", queue_kind="messages", time_limit=300, soft_time_limit=280)
def request_reminder_sweep() -> int:
    """Hourly: alert the DPO about each open request that has used two thirds of its time."""
    return len(requests_alert_two_thirds(actor="task:request_reminders"))


@shared_task(name="requests.alert_dpo", queue_kind="messages", time_limit=60, soft_time_limit=50)
def request_alert_dpo_task(request_id: int) -> None:
    request = Request.objects.select_related("system__entity").filter(pk=request_id).first()
    if request is not None:
        dpo_alert_send(request)
