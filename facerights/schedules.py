"""Entering a year's holiday schedule, as the State Council publishes it, in one step.

The notice lists the holidays as ranges ("2月5日至12日放假调休，共8天") and the make-up
working days (调休) as single weekend days. `schedule_parse` reads them as lines:

    2027-02-05..2027-02-12 春节
    2027-10-01..2027-10-07 国庆节、中秋节
    workday 2027-02-14 春节调休

or a CSV with the columns date, kind (holiday or workday) and name. `calendar_year_enter`
checks every line (a date outside the year, a make-up working day that is not a weekend
day, a day listed twice are refused with the line named), replaces the year's days, and
when the year is marked complete tells whoever keeps deadlines (`schedule_changed`), so
that provisional dates are computed again.

Schedules newer than the `chinesecalendar` package can be kept in the repository
(facerights/data/holiday_schedules.csv) and loaded with `manage.py calendar_load`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from .audit import audit_record
from .models import CalendarDay, CalendarYear
from .workdays import calendar_cache_clear, year_is_covered

# Sent after commit when a year's schedule is complete (kwargs: year): provisional deadlines move.
schedule_changed = Signal()

SCHEDULES_FILE = Path(__file__).resolve().parent / "data" / "holiday_schedules.csv"


@dataclass(frozen=True)
class ScheduledDay:
    date: dt.date
    kind: str  # CalendarDay.Kind
    name: str = ""


def schedule_parse(text: str, *, year: int) -> list[ScheduledDay]:
    """Read holiday ranges and make-up working days, one per line; raise ValidationError naming each bad line."""
    days: list[ScheduledDay] = []
    errors: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind = CalendarDay.Kind.HOLIDAY
        if line.lower().startswith("workday "):
            kind, line = CalendarDay.Kind.WORKDAY, line[len("workday ") :].strip()
        span, _space, name = line.partition(" ")
        start_text, _dots, end_text = span.partition("..")
        try:
            start = dt.date.fromisoformat(start_text)
            end = dt.date.fromisoformat(end_text) if end_text else start
        except ValueError:
            errors.append(
                _("Line %(n)d: write a date as YYYY-MM-DD, or a range as YYYY-MM-DD..YYYY-MM-DD.") % {"n": number}
            )
            continue
        if end < start:
            errors.append(_("Line %(n)d: the range ends before it starts.") % {"n": number})
            continue
        days.extend(
            ScheduledDay(start + dt.timedelta(days=offset), kind, name.strip()[:64])
            for offset in range((end - start).days + 1)
        )
    errors.extend(_check(days, year))
    if errors:
        raise ValidationError(errors, code="schedule")
    return days


def schedule_parse_csv(content: bytes, *, year: int) -> list[ScheduledDay]:
    """Read a CSV of date, kind, name (a header row is allowed)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(_("The file is not UTF-8 text."), code="schedule") from None
    days: list[ScheduledDay] = []
    errors: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or (number == 1 and row[0].strip().lower() == "date"):
            continue
        try:
            day = dt.date.fromisoformat(row[0].strip())
            kind = row[1].strip().lower()
        except (ValueError, IndexError):
            errors.append(_("Row %(n)d: expected date (YYYY-MM-DD), kind, name.") % {"n": number})
            continue
        if kind not in CalendarDay.Kind.values:
            errors.append(_("Row %(n)d: the kind is holiday or workday.") % {"n": number})
            continue
        days.append(ScheduledDay(day, kind, (row[2].strip() if len(row) > 2 else "")[:64]))
    errors.extend(_check(days, year))
    if errors:
        raise ValidationError(errors, code="schedule")
    return days


def _check(days: list[ScheduledDay], year: int) -> list[str]:
    errors = []
    seen: set[dt.date] = set()
    for day in days:
        if day.date.year != year:
            errors.append(_("%(date)s is not in %(year)d.") % {"date": day.date.isoformat(), "year": year})
        if day.kind == CalendarDay.Kind.WORKDAY and day.date.weekday() < 5:
            errors.append(
                _("%(date)s is a weekday: a make-up working day (调休) is a Saturday or Sunday.")
                % {"date": day.date.isoformat()}
            )
        if day.date in seen:
            errors.append(_("%(date)s is listed twice.") % {"date": day.date.isoformat()})
        seen.add(day.date)
    return errors


def calendar_year_enter(
    *, actor: str, year: int, days: list[ScheduledDay], source: str, complete: bool
) -> CalendarYear:
    """Replace a year's holidays and make-up working days; when complete, its deadlines become firm."""
    errors = _check(days, year)
    if errors:
        raise ValidationError(errors, code="schedule")
    with transaction.atomic():
        entry, _created = CalendarYear.objects.select_for_update().get_or_create(year=year)
        CalendarDay.objects.filter(date__year=year).delete()
        CalendarDay.objects.bulk_create([CalendarDay(date=d.date, kind=d.kind, name=d.name) for d in days])
        entry.source = source[:255]
        entry.is_complete = complete
        entry.save()
        audit_record(
            actor=actor,
            action="calendar.year_entered",
            target=entry,
            data={
                "holidays": sum(1 for d in days if d.kind == CalendarDay.Kind.HOLIDAY),
                "workdays": sum(1 for d in days if d.kind == CalendarDay.Kind.WORKDAY),
                "complete": complete,
            },
        )
        transaction.on_commit(calendar_cache_clear)
        if complete:
            transaction.on_commit(lambda: schedule_changed.send(sender=CalendarYear, year=year))
    return entry


def schedules_load(*, actor: str, path: Path = SCHEDULES_FILE) -> list[int]:
    """Enter every year of the repository's file that neither the package nor the table knows; return them."""
    if not path.exists():
        return []
    rows: dict[int, list[ScheduledDay]] = {}
    sources: dict[int, str] = {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            day = dt.date.fromisoformat(row["date"])
            rows.setdefault(day.year, []).append(ScheduledDay(day, row["kind"], row.get("name", "")))
            sources[day.year] = row.get("source", "")
    loaded = []
    for year, days in sorted(rows.items()):
        if year_is_covered(year):
            continue
        calendar_year_enter(actor=actor, year=year, days=days, source=sources[year], complete=True)
        loaded.append(year)
    return loaded
