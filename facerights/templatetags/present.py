"""Dates, deadlines and names in templates, the same way as everywhere else (facerights.present).

{% load present %}
{{ request.received_at|moment }}   {{ item.due_on|day }}   {{ item|due }}   {{ event.actor|actor }}
{{ holding.status|label:"dataops.Holding.status" }}
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import translation

from .. import present
from ..due import Due

register = template.Library()


def _parsed(value: object) -> object:
    """Dates in data built for documents arrive as ISO 8601 text: read them back (a time without a zone is Beijing's)."""
    if isinstance(value, str) and value:
        try:
            if len(value) <= 10:
                return dt.date.fromisoformat(value)
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment if moment.tzinfo else moment.replace(tzinfo=present.BEIJING)
    return value or None


@register.filter
def day(value: dt.date | str | None) -> str:
    parsed = _parsed(value)
    return present.date_text(parsed) if isinstance(parsed, dt.date) else str(parsed or "")


@register.filter
def moment(value: dt.datetime | str | None) -> str:
    parsed = _parsed(value)
    if isinstance(parsed, dt.datetime):
        return present.moment_text(parsed)
    return present.date_text(parsed) if isinstance(parsed, dt.date) else str(parsed or "")


@register.filter
def due(value) -> str:
    """A deadline: a Due, an object with one (a request, an obligation) as its `due`, or its data as a dict."""
    if value is None or value == "":
        return ""
    if isinstance(value, dict):  # {"on": ..., "earliest": ..., "provisional": ...} in a frozen snapshot
        value = Due(
            on=dt.date.fromisoformat(value["on"]),
            earliest=dt.date.fromisoformat(value["earliest"]),
            provisional=bool(value["provisional"]),
        )
    deadline = value if isinstance(value, Due) else value.due
    return present.due_text(deadline)


@register.filter
def label(value, spec: str) -> str:
    """A stored code as its label in the active language: {{ holding.status|label:"dataops.Holding.status" }}."""
    return present.field_label(spec, value)


@register.filter
def actor(value: str) -> str:
    return present.actor_text(value)


@register.filter
def due_in(value, language: str) -> str:
    """A deadline in a given language (documents built in both from one template)."""
    with translation.override("zh-hans" if present.language_of(language) == "zh" else "en"):
        return due(value)


@register.filter
def day_in(value: dt.date | str | None, language: str) -> str:
    parsed = _parsed(value)
    return present.date_text(parsed, language) if isinstance(parsed, dt.date) else str(parsed or "")
