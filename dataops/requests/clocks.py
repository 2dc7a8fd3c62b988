"""The legal clocks of requests: how many PRC working days each type is answered within, and the due date.

A request is answered within its type's working days (15 by default, R17) and never later
than FACERIGHTS_RESPONSE_MAX_CALENDAR_DAYS (30) calendar days after receipt. A deadline that
crosses a year without a published holiday schedule is provisional (facerights.workdays).
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from facerights.audit import audit_record
from facerights.due import Due, Moved
from facerights.workdays import due_after

from .models import Request, ResponseTimePolicy


def request_response_days(request_type: str) -> int:
    policy = ResponseTimePolicy.objects.filter(request_type=request_type).first()
    return policy.working_days if policy else settings.FACERIGHTS_RESPONSE_WORKING_DAYS


def request_ceiling(received_on: dt.date) -> dt.date:
    """The latest any answer may come, extensions included: 30 calendar days after receipt by default."""
    return received_on + dt.timedelta(days=settings.FACERIGHTS_RESPONSE_MAX_CALENDAR_DAYS)


def request_due(received_on: dt.date, working_days: int) -> Due:
    """The due date in PRC working days, never later than the calendar-day ceiling."""
    return due_after(received_on, working_days).capped(request_ceiling(received_on))


def request_alert_on(received_on: dt.date, working_days: int) -> dt.date:
    """When two thirds of the time to answer are gone (10 of 15 working days): the DPO is alerted.

    Counted the safe way: the earliest that day can turn out to be.
    """
    return due_after(received_on, max(1, math.ceil(2 * working_days / 3))).earliest


def requests_due_recompute(*, actor: str) -> list[Moved]:
    """Compute again every open request whose due date is provisional; audit and return those that moved.

    An extended request keeps the date the DPO gave it.
    """
    moved: list[Moved] = []
    open_requests = Request.objects.filter(
        state__in=Request.OPEN_STATES, due_on_provisional=True, extended_to__isnull=True
    ).select_related("system__entity")
    for request in open_requests.iterator(chunk_size=500):
        working_days = request.response_working_days or request_response_days(request.type)
        after = request_due(timezone.localdate(request.received_at), working_days)
        before = request.due
        if after == before:
            continue
        with transaction.atomic():
            locked = Request.objects.select_for_update().get(pk=request.pk)
            if locked.due != before or locked.extended_to is not None:
                continue  # changed meanwhile: the next run sees it
            locked.due_set(after)
            locked.save(update_fields=["due_on", "due_earliest", "due_on_provisional"])
            audit_record(actor=actor, action="request.due_recomputed", target=locked, data=_moved_data(before, after))
        moved.append(
            Moved(
                what=request.reference,
                before=before,
                after=after,
                dpo_email=request.system.entity.dpo_email if request.system else "",
                later_for_person=request.pk if after.on > before.on else None,
            )
        )
    return moved


def _moved_data(before: Due, after: Due) -> dict[str, object]:
    return {
        "before": {
            "on": before.on.isoformat(),
            "earliest": before.earliest.isoformat(),
            "provisional": before.provisional,
        },
        "after": {"on": after.on.isoformat(), "earliest": after.earliest.isoformat(), "provisional": after.provisional},
    }
