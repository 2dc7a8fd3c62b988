"""Forms of the kernel's admin pages."""

from __future__ import annotations

import calendar
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import CalendarDay
from .schedules import ScheduledDay, schedule_parse, schedule_parse_csv

MAX_SCHEDULE_BYTES = 100_000


class CalendarYearForm(forms.Form):
    year = forms.IntegerField(label=_("year"), min_value=2020, max_value=2100)
    source = forms.CharField(
        label=_("source"), max_length=255, help_text=_("The State Council notice: its title and date.")
    )
    text = forms.CharField(
        label=_("holidays and make-up working days"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "cols": 60}),
        help_text=_(
            "One per line, as the notice gives them: a range of holidays such as "
            "2027-02-05..2027-02-12 春节, or a make-up working day such as workday 2027-02-14 春节调休."
        ),
    )
    upload = forms.FileField(
        label=_("or a CSV file"), required=False, help_text=_("Columns: date, kind (holiday or workday), name.")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        year = data.get("year")
        if year is None:
            return data
        upload = data.get("upload")
        text = data.get("text", "")
        if not text.strip() and upload is None:
            raise ValidationError(_("Give the year's days, typed or as a file."))
        if upload is not None:
            if upload.size > MAX_SCHEDULE_BYTES:
                raise ValidationError(_("The file is larger than 100 KB: a year's schedule is a few lines."))
            data["days"] = schedule_parse_csv(upload.read(), year=year)
        else:
            data["days"] = schedule_parse(text, year=year)
        if not data["days"]:
            raise ValidationError(_("No day was given."))
        return data


def schedule_months(year: int, days: list[ScheduledDay]) -> list[dict]:
    """The year as twelve month grids, each day marked rest or work, for the preview."""
    marked = {day.date: day for day in days}
    months = []
    for month in range(1, 13):
        weeks = []
        for week in calendar.Calendar().monthdatescalendar(year, month):
            row: list[dict[str, object] | None] = []
            for date in week:
                if date.month != month:
                    row.append(None)
                    continue
                entry = marked.get(date)
                rest = entry.kind == CalendarDay.Kind.HOLIDAY if entry is not None else date.weekday() >= 5
                row.append(
                    {"day": date.day, "rest": rest, "name": entry.name if entry else "", "marked": entry is not None}
                )
            weeks.append(row)
        months.append({"label": f"{year}年{month}月", "weeks": weeks})
    return months
