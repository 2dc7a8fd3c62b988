"""An incident's timeline in words, in the reader's language (the admin, the regulator's report).

Each entry keeps its facts as data (`IncidentEvent.data`); this puts them into a sentence
when read, so a Chinese and an English reader see the same facts, each in their language.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from facerights.present import choice_label, moment_text

from .models import ContractReview, Incident, IncidentEvent


def _clock(data: dict) -> str:
    cii = _(", critical information infrastructure") if data.get("critical_infrastructure") else ""
    return _("Grade %(grade)s%(cii)s: the report is due by %(due)s.") % {
        "grade": choice_label(Incident.Grade, data["grade"]),
        "cii": cii,
        "due": moment_text(dt.datetime.fromisoformat(data["due"])),
    }


def _fields(names: list[str]) -> str:
    labels = [str(getattr(Incident._meta.get_field(name), "verbose_name", name)) for name in names]
    return _("Changed: %(fields)s.") % {"fields": ", ".join(labels)}


def event_text(event: IncidentEvent) -> str:
    data, kind = event.data, event.kind
    if kind == IncidentEvent.Kind.OPENED:
        return _clock(data)
    if kind == IncidentEvent.Kind.CHANGED:
        return _fields(data.get("fields", []))
    if kind == IncidentEvent.Kind.REGRADED:
        return f"{_fields(data.get('fields', []))} {_clock(data)}"
    if kind == IncidentEvent.Kind.ESCALATED:
        step = {"opened": _("Opened"), "near": _("Deadline near"), "past": _("Deadline passed")}[data["step"]]
        who = {"dpo": _("the DPO"), "contact": _("the legal representative's contact")}
        text = _("%(step)s: told %(who)s by %(channels)s.") % {
            "step": step,
            "who": _(" and ").join(str(who[w]) for w in data.get("who", [])),
            "channels": _("email and SMS") if data.get("sms") else _("email"),
        }
        if data.get("sms_failed"):
            text += " " + _("%(n)d text messages were not accepted: check the numbers on the legal entity.") % {
                "n": data["sms_failed"]
            }
        return text
    if kind == IncidentEvent.Kind.REPORTED:
        late = data.get("late_minutes", 0)
        timing = _("%(minutes)d minutes after the deadline") % {"minutes": late} if late else _("within the deadline")
        return _("Reported at %(at)s through %(channel)s, %(timing)s.") % {
            "at": moment_text(dt.datetime.fromisoformat(data["reported_at"])),
            "channel": event.text,
            "timing": timing,
        }
    if kind == IncidentEvent.Kind.REASSESSMENT:
        n = len(data.get("assessments", []))
        return ngettext(
            "%(n)d impact assessment of the systems involved needs a new assessment (Measures Art 9); "
            "they enrol no one new until it is approved.",
            "%(n)d impact assessments of the systems involved need a new assessment (Measures Art 9); "
            "they enrol no one new until they are approved.",
            n,
        ) % {"n": n}
    if kind == IncidentEvent.Kind.PAUSED:
        n = len(data.get("systems", []))
        return ngettext(
            "New enrolments paused in %(n)d system involved.", "New enrolments paused in %(n)d systems involved.", n
        ) % {"n": n}
    if kind == IncidentEvent.Kind.KEYS:
        text = _("The vendor's list of %(keys)d keys exposed in %(system)s: %(matched)d match people on record.") % {
            "keys": data["keys"],
            "system": data["system_name"],
            "matched": data["matched"],
        }
        unknown = data["keys"] - data["matched"]
        if unknown:
            text += " " + ngettext(
                "%(n)d key matches no one on record: that person cannot be told individually.",
                "%(n)d keys match no one on record: those people cannot be told individually.",
                unknown,
            ) % {"n": unknown}
        return text
    if kind == IncidentEvent.Kind.CONTRACT_REVIEW:
        if "opened" in data:
            return _("A review of the contract opened for: %(systems)s (PIPL Arts 21, 23).") % {
                "systems": ", ".join(data.get("system_names", []))
            }
        return _("Contract review of %(system)s decided: %(outcome)s. %(findings)s") % {
            "system": data["system_name"],
            "outcome": choice_label(ContractReview.Outcome, data["outcome"]),
            "findings": event.text,
        }
    if kind == IncidentEvent.Kind.CLOSED:
        return _("Closed. Root cause: %(cause)s") % {"cause": event.text}
    return event.text
