"""PRC working days against the State Council schedules for 2025 and 2026."""

import datetime as dt

import pytest

from facerights.due import Due
from facerights.models import CalendarDay, CalendarYear
from facerights.schedules import ScheduledDay, calendar_year_enter
from facerights.workdays import (
    CalendarYearUnknown,
    add_working_days,
    calendar_cache_clear,
    due_after,
    is_working_day,
    working_days_between,
)

pytestmark = pytest.mark.django_db

D = dt.date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2025, 1, 28), False),  # Spring Festival 2025: 28 Jan to 4 Feb
        (D(2025, 2, 4), False),
        (D(2025, 1, 26), True),  # make-up working Sunday
        (D(2025, 2, 8), True),  # make-up working Saturday
        (D(2025, 10, 1), False),  # National Day and Mid-Autumn 2025: 1 to 8 Oct
        (D(2025, 10, 8), False),
        (D(2025, 9, 28), True),  # make-up Sunday
        (D(2025, 10, 11), True),  # make-up Saturday
        (D(2026, 2, 16), False),  # Spring Festival 2026: 15 to 23 Feb
        (D(2026, 2, 23), False),
        (D(2026, 2, 14), True),  # make-up Saturday
        (D(2026, 2, 28), True),  # make-up Saturday
        (D(2026, 10, 7), False),  # National Day 2026: 1 to 7 Oct
        (D(2026, 10, 10), True),  # make-up Saturday
        (D(2026, 3, 2), True),  # an ordinary Monday
        (D(2026, 3, 7), False),  # an ordinary Saturday
    ],
)
def test_known_days(day, working):
    assert is_working_day(day) is working


def test_a_due_date_across_the_2026_spring_festival():
    # From Tuesday 10 Feb 2026: 11, 12, 13 Feb, Saturday 14 Feb (make-up), then the
    # holiday 15 to 23 Feb, then 24, 25, 26, 27 Feb and Saturday 28 Feb (make-up).
    assert add_working_days(D(2026, 2, 10), 4) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 10), 5) == D(2026, 2, 24)
    assert add_working_days(D(2026, 2, 10), 9) == D(2026, 2, 28)
    assert add_working_days(D(2026, 2, 10), 10) == D(2026, 3, 2)


def test_fifteen_working_days_across_national_day_2025():
    # 25 Sep 2025 (Thu): 26, 28 (Sun, make-up), 29, 30 Sep; holiday 1-8 Oct;
    # 9, 10, 11 (Sat, make-up), 13, 14, 15, 16, 17, 20, 21, 22 Oct.
    assert add_working_days(D(2025, 9, 25), 15) == D(2025, 10, 22)


def test_thirty_working_days_across_new_year_2026():
    # 1-3 Jan 2026 are holidays and Sunday 4 Jan is a make-up working day.
    assert add_working_days(D(2025, 12, 31), 1) == D(2026, 1, 4)


def test_between_counts_working_days():
    assert working_days_between(D(2026, 2, 10), D(2026, 3, 2)) == 10
    assert working_days_between(D(2026, 3, 2), D(2026, 2, 10)) == -10


def test_an_unknown_year_is_refused_not_guessed():
    with pytest.raises(CalendarYearUnknown) as info:
        is_working_day(D(2031, 3, 3))
    assert info.value.year == 2031
    with pytest.raises(CalendarYearUnknown):
        add_working_days(D(2030, 12, 20), 15)


def test_an_incomplete_table_year_is_still_refused():
    CalendarYear.objects.create(year=2031, is_complete=False)
    with pytest.raises(CalendarYearUnknown):
        is_working_day(D(2031, 3, 3))


def test_a_year_entered_in_the_table_is_answered_from_it():
    CalendarYear.objects.create(year=2031, is_complete=True, source="国务院办公厅通知")
    CalendarDay.objects.create(date=D(2031, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
    CalendarDay.objects.create(date=D(2031, 1, 4), kind=CalendarDay.Kind.WORKDAY, name="调休")  # a Saturday
    assert is_working_day(D(2031, 1, 1)) is False  # Wednesday, holiday
    assert is_working_day(D(2031, 1, 4)) is True  # Saturday, make-up day
    assert is_working_day(D(2031, 1, 5)) is False  # ordinary Sunday
    assert add_working_days(D(2031, 1, 1), 3) == D(2031, 1, 4)  # Thu 2, Fri 3, Sat 4 (make-up)


def test_the_table_overrides_the_package_for_a_year_it_knows():
    CalendarYear.objects.create(year=2026, is_complete=True)
    CalendarDay.objects.create(date=D(2026, 3, 2), kind=CalendarDay.Kind.HOLIDAY, name="test")
    assert is_working_day(D(2026, 3, 2)) is False
    # With the table authoritative, days it does not list follow the weekday rule.
    assert is_working_day(D(2026, 2, 16)) is True


# --- Deadlines across a year with no published schedule -----------------------------------------


def test_a_deadline_across_an_unpublished_year_is_provisional_with_its_estimate_and_earliest():
    # From 2 December 2026, 30 working days: 21 in December (published), 9 in 2027 (not yet).
    # The estimate skips weekends and New Year's Day: 14 January. If every weekend day became a
    # make-up working day, the ninth could come on 10 January: no earlier than that.
    assert due_after(D(2026, 12, 2), 30) == Due(on=D(2027, 1, 14), earliest=D(2027, 1, 10), provisional=True)
    assert due_after(D(2026, 12, 2), 21) == Due.firm(D(2026, 12, 31))  # within 2026: firm


def test_the_estimate_skips_the_statutory_holidays_of_a_year_by_the_lunar_calendar():
    # 2027's Spring Festival: from its eve, Friday 5 February, with weekday rest for the weekend days.
    due = due_after(D(2027, 2, 4), 1)
    assert due.provisional and due.on == D(2027, 2, 11) and due.earliest == D(2027, 2, 9)


@pytest.mark.parametrize("start", [D(2026, 11, 20), D(2026, 12, 30), D(2027, 1, 28), D(2027, 9, 20)])
def test_one_more_working_day_never_gives_an_earlier_date(start):
    previous = due_after(start, 1)
    for days in range(2, 61):
        due = due_after(start, days)
        assert due.on >= previous.on and due.earliest >= previous.earliest, days
        previous = due


def test_a_year_entered_and_complete_makes_the_deadline_firm():
    days = [ScheduledDay(D(2027, 1, 1), CalendarDay.Kind.HOLIDAY, "元旦")]
    calendar_year_enter(actor="t", year=2027, days=days, source="国务院办公厅通知（测试）", complete=True)
    calendar_cache_clear()
    assert due_after(D(2026, 12, 2), 30) == Due.firm(D(2027, 1, 14))
