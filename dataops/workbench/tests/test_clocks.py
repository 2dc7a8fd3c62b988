"""Provisional deadlines are computed again, audited and reported, once a year's schedule is entered."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail

from dataops.deletions.models import Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.requests.models import Request
from dataops.requests.services import request_submit
from dataops.workbench.clocks import clocks_recompute
from facerights.models import AuditEvent, CalendarDay
from facerights.schedules import ScheduledDay, calendar_year_enter
from facerights.workdays import calendar_cache_clear
from tests import factories

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = dt.date


def test_entering_next_years_schedule_makes_open_provisional_dates_firm_and_tells_who_must_know(
    subject, system, django_capture_on_commit_callbacks
):
    factories.holding(subject, system)
    received = dt.datetime(2026, 12, 28, 10, tzinfo=SHANGHAI)
    request = request_submit(
        actor="t", subject=subject, type=Request.Type.DELETION, system=system, received_at=received
    )
    deletion_request_open(actor="t", subject=subject, trigger="subject_request", request=request, at=received)

    clocks_recompute(actor="t")  # nothing known yet: the request keeps its estimate
    request.refresh_from_db()
    assert (request.due_on, request.due_earliest, request.due_on_provisional) == (D(2027, 1, 19), D(2027, 1, 13), True)

    # The State Council's 2027 notice, as a DPO would enter it: here New Year's Day is 1 to 3 January and
    # Sunday 10 January a make-up working day (a test schedule, not the real one).
    days = [ScheduledDay(D(2027, 1, day), CalendarDay.Kind.HOLIDAY, "元旦") for day in (1, 2, 3)]
    days.append(ScheduledDay(D(2027, 1, 10), CalendarDay.Kind.WORKDAY, "调休"))
    calendar_year_enter(actor="dpo", year=2027, days=days, source="测试", complete=True)
    calendar_cache_clear()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=False):
        moved = clocks_recompute(actor="task:clocks_recompute")

    request.refresh_from_db()
    # 29, 30, 31 December; 4 to 8, 10 (make-up Sunday), 11 to 15 January; 18 January is the 15th.
    assert (request.due_on, request.due_earliest, request.due_on_provisional) == (D(2027, 1, 18), D(2027, 1, 18), False)
    assert any(item.what == request.reference for item in moved)
    event = AuditEvent.objects.get(action="request.due_recomputed", object_id=str(request.pk))
    assert event.data["before"]["on"] == "2027-01-19" and event.data["after"]["on"] == "2027-01-18"
    deletion = request.deletion_requests.get()
    assert (deletion.due_on, deletion.due_on_provisional) == (D(2027, 1, 18), False)
    propagation = Propagation.objects.get(deletion_request=deletion)
    assert propagation.deadline <= D(2027, 1, 18)
    [summary] = [m for m in mail.outbox if request.reference in m.body]
    assert summary.to == [system.entity.dpo_email]
    assert "2027年1月19日（暂定" in summary.body and "→ 2027年1月18日" in summary.body
