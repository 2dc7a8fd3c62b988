"""The legal clock of a request, in PRC working days."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from dataops.requests.clocks import request_due
from dataops.requests.models import Request, ResponseTimePolicy
from dataops.requests.services import request_extend, request_submit, requests_alert_two_thirds
from dataops.requests.tasks import request_alert_dpo_task
from facerights.models import AuditEvent
from facerights.services import TransitionError

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


def test_an_unpublished_year_gives_an_estimate_and_the_earliest_date_marked_provisional(subject):
    # From Monday 28 December 2026: 29 to 31 December are known working days; 2027's schedule is not
    # published. The estimate skips weekends and New Year's Day (19 January); the true date can be
    # no earlier than 13 January, if every weekend day in between became a make-up working day.
    request = request_submit(actor="t", subject=subject, type=Request.Type.ACCESS, received_at=_at(2026, 12, 28))
    assert (request.due_on, request.due_earliest, request.due_on_provisional) == (
        dt.date(2027, 1, 19),
        dt.date(2027, 1, 13),
        True,
    )


@pytest.mark.parametrize("received", [dt.date(2026, 12, 2), dt.date(2026, 12, 20), dt.date(2027, 1, 25)])
def test_one_more_working_day_is_never_an_earlier_date(received):
    previous = None
    for days in range(1, 31):
        due = request_due(received, days)
        if previous is not None:
            assert due.on >= previous.on and due.earliest >= previous.earliest, days
        assert due.earliest <= due.on
        previous = due


def test_an_extension_is_once_with_a_reason_and_never_past_thirty_days_from_receipt(subject):
    request = request_submit(actor="t", subject=subject, type=Request.Type.ACCESS, received_at=_at(2026, 3, 2))
    with pytest.raises(ValidationError) as late:
        request_extend(actor="dpo", request=request, until=dt.date(2026, 4, 2), reason="需要核实")
    assert late.value.code == "date"  # received 2 March: 1 April at the latest
    request = request_extend(actor="dpo", request=request, until=dt.date(2026, 4, 1), reason="需要向供应商核实")
    assert (request.due_on, request.due_on_provisional) == (dt.date(2026, 4, 1), False)
    with pytest.raises(TransitionError) as again:
        request_extend(actor="dpo", request=request, until=dt.date(2026, 4, 1), reason="再延期")
    assert again.value.code == "extended"
    assert AuditEvent.objects.filter(action="request.extended", object_id=str(request.pk)).count() == 1


def test_the_dpo_is_alerted_once_when_two_thirds_of_the_time_are_gone(
    subject, system, django_capture_on_commit_callbacks
):
    request = request_submit(
        actor="t", subject=subject, type=Request.Type.ACCESS, system=system, received_at=_at(2026, 3, 2)
    )
    assert requests_alert_two_thirds(actor="t", today=dt.date(2026, 3, 13)) == []  # 9 working days gone
    with django_capture_on_commit_callbacks() as sent:
        assert requests_alert_two_thirds(actor="t", today=dt.date(2026, 3, 16)) == [request]  # the 10th of 15
    assert len(sent) == 1  # the alert is queued after commit
    assert requests_alert_two_thirds(actor="t", today=dt.date(2026, 3, 17)) == []  # once
    request_alert_dpo_task(request.pk)  # what the worker runs
    alert = next(m for m in mail.outbox if request.reference in m.subject)
    assert alert.to == [system.entity.dpo_email] and "2026年3月23日" in alert.body  # due 23 March
