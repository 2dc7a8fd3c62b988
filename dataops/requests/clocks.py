"""The legal clocks of requests: how many PRC working days each type is answered within, and the due date."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from facerights.workdays import CalendarYearUnknown, add_working_days

from .models import ResponseTimePolicy


def request_response_days(request_type: str) -> int:
    policy = ResponseTimePolicy.objects.filter(request_type=request_type).first()
    return policy.working_days if policy else settings.FACERIGHTS_RESPONSE_WORKING_DAYS


def request_due_date(received_on: dt.date, request_type: str) -> tuple[dt.date, bool]:
    """The due date in PRC working days, never later than the calendar-day ceiling.

    When the holiday schedule of a year in the period is not known yet, the
    working-day service refuses to guess; the request still gets a due date:
    the earliest the true one could be (each working day is at least one
    calendar day), marked provisional (docs/legal-readings.md).
    """
    days = request_response_days(request_type)
    ceiling = received_on + dt.timedelta(days=settings.FACERIGHTS_RESPONSE_MAX_CALENDAR_DAYS)
    try:
        return min(add_working_days(received_on, days), ceiling), False
    except CalendarYearUnknown:
        return received_on + dt.timedelta(days=days), True
