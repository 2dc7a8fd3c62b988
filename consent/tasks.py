"""Celery tasks of the consent app: thin wrappers that take ids and call the messaging functions."""

from __future__ import annotations

from celery import shared_task

from .messaging import came_of_age_send, notice_changed_send
from .models import Notice
from .services import guardian_consents_come_of_age


@shared_task(name="consent.notice_changed_notify", queue_kind="housekeeping", time_limit=600, soft_time_limit=580)
def notice_changed_notify(notice_id: int) -> int:
    """Tell everyone whose consent rests on an earlier version of a newly published notice."""
    notice = Notice.objects.filter(pk=notice_id).first()
    return notice_changed_send(notice) if notice else 0


@shared_task(
    name="consent.guardian_consents_come_of_age", queue_kind="housekeeping", time_limit=600, soft_time_limit=580
)
def guardian_consents_come_of_age_task() -> int:
    """Daily: guardians' consents for those who turned 14 await their own confirmation; both are told."""
    return came_of_age_send(guardian_consents_come_of_age())
