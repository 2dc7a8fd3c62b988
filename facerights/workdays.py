"""PRC working days: the clock behind every legal deadline.

Whether a day is a working day is known from, in this order:
1. the CalendarDay table, for a year an admin has entered and marked complete
   (the State Council publishes next year's schedule before any package knows it);
2. the `chinesecalendar` package, for the years it knows.

For any other year the schedule is not known yet, and a deadline that crosses it is
**provisional** (`due_after`). It carries two dates, never one guess:
- `on`, the estimate from the rules fixed in advance: weekends and the statutory
  holidays of the national holiday regulation as amended in 2024 (New Year's Day, the
  Spring Festival from its eve, Qingming, Labour Day, Dragon Boat, Mid-Autumn, National
  Day) with the weekday rest the regulation gives for one on a weekend, dated by the
  `holidays` package (lunar dates included); make-up working days (调休) are unknown;
- `earliest`, the earliest the true date can be: every day but those statutory holidays
  counted as a working day, since any weekend may become a make-up working day.
Alerts and overdue checks run on `earliest`. Both only grow with the number of working
days. `add_working_days` and `working_days_between` answer firmly or raise
CalendarYearUnknown: they never guess.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import lru_cache

import chinese_calendar
import holidays

from .due import Due
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


@lru_cache(maxsize=64)
def _rules(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """The statutory holidays of a year by the regulation alone, and those with the weekday rest for weekend ones."""
    dated = holidays.China(years=year)
    statutory = frozenset(day for day, name in dated.items() if "observed" not in name and "substituted" not in name)
    return statutory, frozenset(dated)


class WorkingDayCalendar:
    """Answers working-day questions from the table (cached) and the package."""

    def _table_for(self, year: int) -> dict[dt.date, str] | None:
        return _table_for(year)

    def covers(self, year: int) -> bool:
        return self._table_for(year) is not None or year in _package_years()

    def known(self, day: dt.date) -> bool | None:
        """Whether the day is a working day by the published schedule; None when its year is not known yet."""
        table = self._table_for(day.year)
        if table is not None:
            kind = table.get(day)
            if kind == CalendarDay.Kind.HOLIDAY:
                return False
            if kind == CalendarDay.Kind.WORKDAY:
                return True
            return day.weekday() < 5
        if day.year in _package_years():
            return bool(chinese_calendar.is_workday(day))
        return None

    def is_working_day(self, day: dt.date) -> bool:
        known = self.known(day)
        if known is None:
            raise CalendarYearUnknown(day.year)
        return known

    def due(self, start: dt.date, working_days: int) -> Due:
        """The deadline `working_days` working days after `start` (start not counted), provisional if need be."""
        if working_days < 1:
            raise ValueError("working_days must be at least 1")
        day, estimated, possible = start, 0, 0
        on: dt.date | None = None
        earliest: dt.date | None = None
        provisional = False
        while on is None or earliest is None:
            day += dt.timedelta(days=1)
            known = self.known(day)
            if known is None:
                provisional = provisional or on is None
                statutory, rest = _rules(day.year)
                estimate_working, may_be_working = day.weekday() < 5 and day not in rest, day not in statutory
            else:
                estimate_working = may_be_working = known
            if on is None and estimate_working:
                estimated += 1
                if estimated == working_days:
                    on = day
            if earliest is None and may_be_working:
                possible += 1
                if possible == working_days:
                    earliest = day
        return Due(on=on, earliest=min(earliest, on), provisional=provisional)

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

    def left(self, today: dt.date, day: dt.date) -> tuple[int, bool]:
        """Working days after `today` up to `day` (negative when past), and whether a day had to be estimated.

        A day of a year without a published schedule counts when it is a weekday and no
        statutory holiday: what people can plan with, marked provisional.
        """
        if day < today:
            count, provisional = self.left(day, today)
            return -count, provisional
        count, provisional = 0, False
        for offset in range(1, (day - today).days + 1):
            current = today + dt.timedelta(days=offset)
            known = self.known(current)
            if known is None:
                provisional = True
                known = current.weekday() < 5 and current not in _rules(current.year)[1]
            count += known
        return count, provisional

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (negative when end is earlier)."""
        if end < start:
            return -self.between(end, start)
        return sum(
            1 for offset in range(1, (end - start).days + 1) if self.is_working_day(start + dt.timedelta(days=offset))
        )


def add_working_days(start: dt.date, working_days: int) -> dt.date:
    """The date `working_days` working days after `start`, from published schedules only (else CalendarYearUnknown)."""
    return WorkingDayCalendar().add(start, working_days)


def due_after(start: dt.date, working_days: int) -> Due:
    """The deadline `working_days` PRC working days after `start`: firm, or provisional with its earliest date."""
    return WorkingDayCalendar().due(start, working_days)


def is_working_day(day: dt.date) -> bool:
    return WorkingDayCalendar().is_working_day(day)


def working_days_between(start: dt.date, end: dt.date) -> int:
    return WorkingDayCalendar().between(start, end)


def working_days_left(today: dt.date, day: dt.date) -> tuple[int, bool]:
    """Working days from today to a date (negative when past), and whether any had to be estimated."""
    return WorkingDayCalendar().left(today, day)


def year_is_covered(year: int) -> bool:
    return WorkingDayCalendar().covers(year)
