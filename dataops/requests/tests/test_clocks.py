"""The legal clock of a request, in PRC working days."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from dataops.requests.models import Request, ResponseTimePolicy
from dataops.requests.services import request_submit

pytestmark = pytest.mark.django_db


SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(*args):
    return dt.datetime(*args, 10, 0, tzinfo=SHANGHAI)


def test_the_default_due_date_is_15_working_days_across_the_spring_festival(subject):
    # From Tuesday 10 Feb 2026, 15 working days: the festival (15-23 Feb) does not count,
    # the make-up Saturdays 14 and 28 Feb do.
    request = request_submit(actor="t", subject=subject, type=Request.Type.DELETION, received_at=_at(2026, 2, 10))
    assert request.due_on == dt.date(2026, 3, 9)
    assert request.due_on_provisional is False


def test_a_per_type_response_time_applies(subject):
    ResponseTimePolicy.objects.create(request_type=Request.Type.WITHDRAWAL, working_days=5)
    request = request_submit(actor="t", subject=subject, type=Request.Type.WITHDRAWAL, received_at=_at(2026, 3, 2))
    assert request.due_on == dt.date(2026, 3, 9)


def test_never_later_than_30_calendar_days(subject):
    ResponseTimePolicy.objects.create(request_type=Request.Type.COPY, working_days=30)
    # 30 working days from 25 Sep 2025 would cross the eight-day National Day holiday.
    request = request_submit(actor="t", subject=subject, type=Request.Type.COPY, received_at=_at(2025, 9, 25))
    assert request.due_on == dt.date(2025, 10, 25)


def test_an_unknown_year_gives_the_earliest_possible_date_marked_provisional(subject):
    request = request_submit(actor="t", subject=subject, type=Request.Type.ACCESS, received_at=_at(2026, 12, 28))
    assert request.due_on == dt.date(2027, 1, 12)  # 15 calendar days: no later than any working-day reading
    assert request.due_on_provisional is True
