"""The duties that follow a count of people, and when each falls due.

- 100,000 people's faces stored: file with the provincial cyberspace administration within 30
  working days (Measures Art 15), with alerts to the DPO at 80%, 95% and 100%;
- 1,000,000 people's personal information: report the officer within 30 working days (PIPL Art 52);
- more than 10,000,000: a compliance audit every two years (PIPL Art 54)."""

from __future__ import annotations

import datetime as dt

from django.core.mail import send_mail
from django.db import transaction
from django.utils.translation import gettext as _

from facerights.audit import audit_record
from facerights.workdays import CalendarYearUnknown, add_working_days

from ..registry.models import LegalEntity
from .models import FilingObligation

ALERT_PERCENTAGES = (80, 95, 100)
FILING_WORKING_DAYS = 30
FILING_THRESHOLD = 100_000
PIPO_THRESHOLD = 1_000_000  # PIPL Art 52 with the CAC's 2025 announcement (REGULATION.md P11)
AUDIT_THRESHOLD = 10_000_000  # "more than": compliance audit at least every two years (P12)
AUDIT_INTERVAL_YEARS = 2


def filing_due(day: dt.date) -> tuple[dt.date, bool]:
    """30 PRC working days after the day; provisional (the earliest possible) if a year's holidays are unknown."""
    try:
        return add_working_days(day, FILING_WORKING_DAYS), False
    except CalendarYearUnknown:
        return day + dt.timedelta(days=FILING_WORKING_DAYS), True


# --- The threshold monitor -------------------------------------------------------------------


def threshold_check(*, entity: LegalEntity, day: dt.date, persons: int, previous: int) -> FilingObligation | None:
    """Alert the DPO at 80%, 95% and 100% of 100,000; on reaching it, open the filing obligation."""
    crossed = [p for p in ALERT_PERCENTAGES if previous < FILING_THRESHOLD * p // 100 <= persons]
    for percent in crossed:
        audit_record(
            actor="task:person_counts",
            action="filing.threshold_alert",
            target=entity,
            data={"percent": percent, "persons": persons},
        )

        def alert(percent: int = percent, address: str = entity.dpo_email) -> None:
            send_mail(
                _("%(entity)s stores the faces of %(persons)s people (%(percent)s%% of the filing threshold)")
                % {"entity": entity.name_zh, "persons": persons, "percent": percent},
                _(
                    "At 100,000 people a filing with the provincial cyberspace administration is due within 30 working days (Measures Art 15)."
                ),
                None,
                [address],
            )

        transaction.on_commit(alert)
    if persons < FILING_THRESHOLD or entity.filing_obligations.filter(kind=FilingObligation.Kind.INITIAL).exists():
        return None
    due_on, provisional = filing_due(day)
    obligation = FilingObligation.objects.create(
        entity=entity,
        kind=FilingObligation.Kind.INITIAL,
        triggered_on=day,
        due_on=due_on,
        due_on_provisional=provisional,
    )
    audit_record(
        actor="task:person_counts",
        action="filing.obligation_opened",
        target=entity,
        data={"kind": "initial", "triggered_on": day.isoformat(), "due_on": due_on.isoformat()},
    )
    return obligation


def years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def headcount_check(*, entity: LegalEntity, day: dt.date, headcount: int) -> list[FilingObligation]:
    """The duties that follow the number of people whose personal information the entity handles (PIPL Arts 52, 54).

    At 1,000,000: report the personal information protection officer to the city cyberspace
    administration within 30 working days. Above 10,000,000: a compliance audit within two
    years, then every two years (the next one opens when the last is recorded).
    """
    opened = []
    if headcount >= PIPO_THRESHOLD and not entity.filing_obligations.filter(kind=FilingObligation.Kind.PIPO_REPORT):
        due_on, provisional = filing_due(day)
        opened.append((FilingObligation.Kind.PIPO_REPORT, due_on, provisional))
    if headcount > AUDIT_THRESHOLD and not entity.filing_obligations.filter(
        kind=FilingObligation.Kind.COMPLIANCE_AUDIT
    ):
        opened.append((FilingObligation.Kind.COMPLIANCE_AUDIT, years_later(day, AUDIT_INTERVAL_YEARS), False))
    obligations = []
    for kind, due_on, provisional in opened:
        obligation = FilingObligation.objects.create(
            entity=entity, kind=kind, triggered_on=day, due_on=due_on, due_on_provisional=provisional
        )
        audit_record(
            actor="task:person_counts",
            action="filing.obligation_opened",
            target=entity,
            data={"kind": kind, "headcount": headcount, "due_on": due_on.isoformat()},
        )

        def notify(obligation: FilingObligation = obligation, address: str = entity.dpo_email) -> None:
            send_mail(
                _("%(entity)s: %(duty)s, due %(due)s")
                % {"entity": entity.name_zh, "duty": obligation.get_kind_display(), "due": obligation.due_on},
                _(
                    "The entity handles the personal information of %(count)s people. "
                    "Record it in the admin (Filing obligations) when it is done."
                )
                % {"count": headcount},
                None,
                [address],
            )

        transaction.on_commit(notify)
        obligations.append(obligation)
    return obligations
