"""When an incident's report is due, and when to warn that it nears (docs/legal-readings.md).

The incident-reporting measures (in force 1 November 2025) set at most 1 hour where critical
information infrastructure is involved and 30 minutes for major and especially major
incidents; the figure for the rest was not read, so it is a setting with a short default.
The settings can shorten these figures, never lengthen the two the law sets.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights.present import moment_text

from .models import Incident

SEVERE = (Incident.Grade.MAJOR, Incident.Grade.ESPECIALLY_MAJOR)


def report_minutes(grade: str, critical_infrastructure: bool) -> int:
    """Minutes from discovery to the report: the shortest of the figures that apply."""
    figures = [settings.FACERIGHTS_INCIDENT_REPORT_MINUTES_OTHER]
    if grade in SEVERE:
        figures.append(settings.FACERIGHTS_INCIDENT_REPORT_MINUTES_SEVERE)
    if critical_infrastructure:
        figures.append(settings.FACERIGHTS_INCIDENT_REPORT_MINUTES_CII)
    return min(figures)


def report_due(discovered_at: dt.datetime, grade: str, critical_infrastructure: bool) -> dt.datetime:
    return discovered_at + dt.timedelta(minutes=report_minutes(grade, critical_infrastructure))


def warn_at(incident: Incident) -> dt.datetime:
    """The moment the report counts as near: once this share of its window has passed."""
    window = incident.report_due_at - incident.discovered_at
    return incident.discovered_at + window * settings.FACERIGHTS_INCIDENT_WARN_PERCENT / 100


def clock_text(incident: Incident, now: dt.datetime | None = None) -> str:
    """Time left to report, or how late it is, or when it was reported (whole minutes, never rounded up)."""
    now = now or timezone.now()
    if incident.reported_at:
        return _("reported %(at)s") % {"at": moment_text(incident.reported_at)}
    seconds = (incident.report_due_at - now).total_seconds()
    due = moment_text(incident.report_due_at)
    if seconds >= 0:
        return _("%(minutes)d min left (due %(at)s)") % {"minutes": seconds // 60, "at": due}
    return _("overdue by %(minutes)d min (was due %(at)s)") % {"minutes": -seconds // 60, "at": due}
