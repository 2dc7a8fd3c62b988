"""Celery tasks of the registry: thin wrappers around its services."""

from __future__ import annotations

from celery import shared_task

from .models import SystemTransfer
from .processing import processing_records_expire
from .transfers import transfer_notify_send, transfer_people_told


@shared_task(name="registry.processing_records_expire", queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def processing_records_expire_task() -> int:
    """Daily: records of processing older than three years go."""
    return processing_records_expire()


@shared_task(name="registry.transfer_notify", queue_kind="messages", time_limit=3600, soft_time_limit=3580)
def transfer_notify_task(transfer_id: int) -> int:
    """Tell everyone a transferred system holds who holds their data now (PIPL Art 22)."""
    transfer = SystemTransfer.objects.select_related("system", "to_entity").filter(pk=transfer_id).first()
    if transfer is None or transfer.told_at is not None:
        return 0
    told = transfer_notify_send(transfer)
    transfer_people_told(transfer=transfer, told=told)
    return told
