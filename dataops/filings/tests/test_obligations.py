"""The duties that follow a count of people: the filing at 100,000, the officer report, audits."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from consent.models import DataSubject
from dataops.filings import obligations
from dataops.filings.counting import person_counts_take
from dataops.filings.history import first_day_reaching
from dataops.filings.models import FilingObligation
from dataops.filings.obligations import FILING_THRESHOLD, pipo_due, threshold_check, threshold_due
from dataops.filings.services import (
    FilingError,
    obligation_fulfil,
    obligation_start,
)
from dataops.registry.models import Holding
from facerights import crypto
from facerights.db import insert_columns
from facerights.due import Due
from tests import factories

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _day(*args) -> dt.datetime:
    return dt.datetime(*args, 9, 0, tzinfo=SHANGHAI)


def _bulk_people(system, count, *, also=None, enrolled=None):
    """`count` distinct people held by `system`; the first half also held by `also` (duplicates across systems)."""

    wrapped = crypto.data_key_new()[1]
    now = enrolled or timezone.now()
    people = insert_columns(DataSubject, count, {"wrapped_key": wrapped, "created_at": now, "is_synthetic": False})
    ids = [pk for (pk,) in people]
    held = [(system, ids)] + ([(also, ids[: count // 2])] if also is not None else [])
    for holder, subjects in held:
        insert_columns(
            Holding,
            len(subjects),
            {
                "subject": subjects,
                "system": holder.pk,
                "subject_key": [f"B{holder.pk}-{pk}" for pk in subjects],
                "data_kind": "template",
                "enrolled_at": now,
                "retention_until": now.date(),
                "status": "active",
            },
            returning=(),
        )
    return ids


def test_99999_people_open_nothing_and_one_more_opens_the_obligation_on_the_right_working_day(entity, purpose):
    first = factories.active_system(entity=entity, purpose=purpose)
    second = factories.active_system(entity=entity, purpose=purpose)
    _bulk_people(first, FILING_THRESHOLD - 1, also=second, enrolled=_day(2026, 1, 19))  # duplicates count once
    person_counts_take(today=dt.date(2026, 1, 19))
    assert not FilingObligation.objects.exists()
    _bulk_people(second, 1, enrolled=_day(2026, 1, 20))
    person_counts_take(today=dt.date(2026, 1, 20))
    obligation = FilingObligation.objects.get()
    assert (obligation.kind, obligation.triggered_on) == ("initial", dt.date(2026, 1, 20))
    # 30 working days from Tuesday 20 January 2026: across the Spring Festival (15 to 23
    # February, not counted) and the make-up Saturdays of 14 and 28 February (counted).
    assert obligation.due_on == dt.date(2026, 3, 9)
    person_counts_take(today=dt.date(2026, 1, 21))
    assert FilingObligation.objects.count() == 1


def test_alerts_at_80_95_and_100_percent(entity, system, django_capture_on_commit_callbacks):

    with django_capture_on_commit_callbacks(execute=True):
        threshold_check(entity=entity, day=dt.date(2026, 5, 6), persons=96_000, previous=70_000)
    assert [m.subject for m in mail.outbox] == [
        f"{entity.name_zh} stores the faces of 96000 people (80% of the filing threshold)",
        f"{entity.name_zh} stores the faces of 96000 people (95% of the filing threshold)",
    ]
    assert not FilingObligation.objects.exists()


def test_the_officer_report_at_one_million_and_an_audit_every_two_years_above_ten_million(
    entity, system, django_capture_on_commit_callbacks
):

    def count(headcount, day):
        entity.pi_headcount, entity.pi_headcount_on = headcount, day
        entity.save()
        with django_capture_on_commit_callbacks(execute=True):
            person_counts_take(today=day)
        return {o.kind: o for o in FilingObligation.objects.filter(entity=entity, fulfilled_at=None)}

    assert count(999_999, dt.date(2026, 1, 19)) == {}
    report = count(1_000_000, dt.date(2026, 1, 20))["pipo_report"]
    assert report.due_on == dt.date(2026, 3, 9)  # 30 working days, as for the filing
    assert mail.outbox[-1].to == [entity.dpo_email]
    assert "audit" not in count(10_000_000, dt.date(2026, 2, 2))  # "more than" ten million
    audit = count(10_000_001, dt.date(2026, 2, 3))["audit"]
    assert audit.due_on == dt.date(2028, 2, 3)
    with pytest.raises(FilingError) as info:
        obligation_start(actor="dpo", obligation=report)  # reported to the city, not filed here
    assert info.value.code == "not_filed"
    with pytest.raises(FilingError) as info:
        obligation_fulfil(actor="dpo", obligation=audit, reference="  ")
    assert info.value.code == "reference"
    obligation_fulfil(actor="dpo", obligation=audit, reference="审计报告 2027-01")
    following = FilingObligation.objects.get(entity=entity, kind="audit", fulfilled_at=None)
    today = timezone.localdate()
    assert following.due_on == today.replace(year=today.year + 2)
    assert count(10_000_001, dt.date(2026, 2, 4)) == {"pipo_report": report, "audit": following}


def test_a_headcount_needs_its_date_and_cannot_be_from_the_future(entity):

    entity.pi_headcount = 1_200_000
    with pytest.raises(ValidationError, match="date"):
        entity.full_clean()
    entity.pi_headcount_on = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError, match="future"):
        entity.full_clean()


def _people(system, enrolments):
    """People held by `system`: one holding per (enrolled on, deleted on or None)."""
    for n, (enrolled, deleted) in enumerate(enrolments):
        holding = factories.holding(factories.subject(phone=f"1370000{n:04d}"), system, enrolled_at=_day(*enrolled))
        if deleted:
            Holding.objects.filter(pk=holding.pk).update(status="deleted", deleted_at=_day(*deleted))


def test_the_day_a_number_was_reached_is_rebuilt_from_enrolments_and_deletions(entity, system):
    _people(
        system,
        [
            ((2026, 3, 1), None),
            ((2026, 3, 2), (2026, 3, 4)),  # gone before the third arrives
            ((2026, 3, 5), None),
            ((2026, 3, 9), None),
        ],
    )
    assert first_day_reaching(entity, 2) == dt.date(2026, 3, 2)
    assert first_day_reaching(entity, 3) == dt.date(2026, 3, 9)  # not 5 March: one had gone
    assert first_day_reaching(entity, 5) is None


def test_the_filing_is_dated_from_the_day_the_number_was_reached_not_the_day_the_count_noticed(
    entity, system, monkeypatch
):
    monkeypatch.setattr(obligations, "FILING_THRESHOLD", 3)
    _people(system, [((2026, 3, 2), None), ((2026, 3, 3), None), ((2026, 3, 4), None)])
    obligation = threshold_check(entity=entity, day=dt.date(2026, 3, 20), persons=3, previous=0)
    assert obligation.triggered_on == dt.date(2026, 3, 4)
    assert obligation.due == threshold_due(dt.date(2026, 3, 4)) and obligation.due_on < dt.date(2026, 5, 6)


def test_stock_reached_before_the_measures_was_due_on_14_july_2025():
    assert threshold_due(dt.date(2025, 3, 1)) == Due.firm(dt.date(2025, 7, 14))
    assert pipo_due(dt.date(2025, 7, 1)) == Due.firm(dt.date(2025, 8, 29))
    assert threshold_due(dt.date(2025, 6, 3)).on == dt.date(2025, 7, 15)  # after: 30 working days
