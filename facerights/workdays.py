"""PRC working days: the clock behind every legal deadline.

A day is a working day according to, in this order:
1. the CalendarDay table, for a year an admin has entered and marked complete
   (the State Council publishes next year's schedule before any package knows it);
2. the `chinesecalendar` package, for the years it knows;
3. nothing else: for any other year the service raises CalendarYearUnknown
   instead of guessing with a Monday-to-Friday rule, which would ignore the
   holidays and the make-up working days (调休).
"""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache

import chinese_calendar

from .models import CalendarDay, CalendarYear


class CalendarYearUnknown(Exception):
    """No holiday schedule is known for this year."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"The PRC holiday schedule for {year} is not known: enter it in the admin "
            "(Calendar years) once the State Council publishes it."
        )


@lru_cache(maxsize=1)
def _package_years() -> range:
    known = sorted({day.year for day in chinese_calendar.holidays})
    return range(known[0], known[-1] + 1)


# The table changes a few times a year: each process keeps what it read for a
# few minutes (other processes see an admin's change within CACHE_SECONDS;
# this process at once, through calendar_cache_clear on save).
CACHE_SECONDS = 300
_cache: dict[int, tuple[float, dict[dt.date, str] | None]] = {}


def calendar_cache_clear(*args, **kwargs) -> None:
    _cache.clear()


def _table_for(year: int) -> dict[dt.date, str] | None:
    cached = _cache.get(year)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    table = None
    if CalendarYear.objects.filter(year=year, is_complete=True).exists():
        table = dict(CalendarDay.objects.filter(date__year=year).values_list("date", "kind"))
    _cache[year] = (time.monotonic() + CACHE_SECONDS, table)
    return table


class WorkingDayCalendar:
    """Answers working-day questions from the table (cached) and the package."""

    def _table_for(self, year: int) -> dict[dt.date, str] | None:
        return _table_for(year)

    def covers(self, year: int) -> bool:
        return self._table_for(year) is not None or year in _package_years()

    def is_working_day(self, day: dt.date) -> bool:
        table = self._table_for(day.year)
        if table is not None:
            kind = table.get(day)
            if kind == CalendarDay.Kind.HOLIDAY:
                return False
            if kind == CalendarDay.Kind.WORKDAY:
                return True
            return day.weekday() < 5
        if day.year in _package_years():
            return chinese_calendar.is_workday(day)
        raise CalendarYearUnknown(day.year)

    def add(self, start: dt.date, working_days: int) -> dt.date:
        """The date that is `working_days` working days after `start` (start itself not counted)."""
        if working_days < 1:
            raise ValueError("working_days must be at least 1")
        day, counted = start, 0
        while counted < working_days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (negative when end is earlier)."""
        if end < start:
            return -self.between(end, start)
        return sum(
            1 for offset in range(1, (end - start).days + 1) if self.is_working_day(start + dt.timedelta(days=offset))
        )


def add_working_days(start: dt.date, working_days: int) -> dt.date:
    return WorkingDayCalendar().add(start, working_days)


def is_working_day(day: dt.date) -> bool:
    return WorkingDayCalendar().is_working_day(day)


def working_days_between(start: dt.date, end: dt.date) -> int:
    return WorkingDayCalendar().between(start, end)


def year_is_covered(year: int) -> bool:
    return WorkingDayCalendar().covers(year)
