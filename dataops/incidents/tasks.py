"""Celery tasks of incidents: thin wrappers that take ids and call services (facerights.queues sends them by name)."""

from __future__ import annotations

from celery import shared_task

from .escalation import incident_escalate, incidents_escalate_due


@shared_task(name="incidents.escalate", queue_kind="delivery", time_limit=60, soft_time_limit=50)
def incident_escalate_task(incident_id: int) -> None:
    incident_escalate(incident_id=incident_id)


@shared_task(name="incidents.escalate_sweep", queue_kind="delivery", time_limit=120, soft_time_limit=110)
def incidents_escalate_sweep() -> int:
    """Every minute on beat: the escalations that came due (nearing, past) and any whose send failed."""
    return incidents_escalate_due()
