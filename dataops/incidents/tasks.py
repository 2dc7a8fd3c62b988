"""Celery tasks of incidents: thin wrappers that take ids and call services (facerights.queues sends them by name)."""

from __future__ import annotations

from celery import shared_task

from .escalation import incident_escalate, incidents_escalate_due
from .notices import notices_deliver


@shared_task(name="incidents.escalate", queue_kind="delivery", time_limit=60, soft_time_limit=50)
def incident_escalate_task(incident_id: int) -> None:
    incident_escalate(incident_id=incident_id)


@shared_task(name="incidents.escalate_sweep", queue_kind="delivery", time_limit=120, soft_time_limit=110)
def incidents_escalate_sweep() -> int:
    """Every minute on beat: the escalations that came due (nearing, past) and any whose send failed."""
    return incidents_escalate_due()


@shared_task(name="incidents.notices_deliver", queue_kind="messages", time_limit=9 * 60, soft_time_limit=8 * 60)
def notices_deliver_task(notice_id: int) -> int:
    return notices_deliver(notice_id=notice_id)


@shared_task(name="incidents.notices_sweep", queue_kind="messages", time_limit=9 * 60, soft_time_limit=8 * 60)
def notices_sweep() -> int:
    """Every minute on beat: rows whose retry came due, and those a killed worker left claimed."""
    return notices_deliver()
