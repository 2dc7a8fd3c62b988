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
from facerights.due import Due, Moved
from facerights.present import due_text
from facerights.workdays import due_after

from ..registry.models import LegalEntity
from .history import first_day_reaching
from .models import ChangeReview, FilingObligation

ALERT_PERCENTAGES = (80, 95, 100)
FILING_WORKING_DAYS = 30
FILING_THRESHOLD = 100_000
PIPO_THRESHOLD = 1_000_000  # PIPL Art 52 with the CAC's 2025 announcement (REGULATION.md P11)
AUDIT_THRESHOLD = 10_000_000  # "more than": compliance audit at least every two years (P12)
AUDIT_INTERVAL_YEARS = 2


# Stock reached before a duty began had a deadline of its own (REGULATION.md §3.1):
# - 100,000 people before the Measures took effect (2025-06-01): file by 2025-07-14 (CAC, P4);
# - 1,000,000 people before the CAC's officer-reporting announcement (2025-07-18): report by 2025-08-29 (P11).
MEASURES_IN_FORCE = dt.date(2025, 6, 1)
FILING_STOCK_DUE = dt.date(2025, 7, 14)
PIPO_ANNOUNCED = dt.date(2025, 7, 18)
PIPO_STOCK_DUE = dt.date(2025, 8, 29)


def filing_due(day: dt.date) -> Due:
    """30 PRC working days after the day (firm, or provisional with its earliest date)."""
    return due_after(day, FILING_WORKING_DAYS)


def threshold_due(reached_on: dt.date) -> Due:
    """The initial filing's deadline: 30 working days after the day, or the stock's own date if it came first."""
    if reached_on < MEASURES_IN_FORCE:
        return Due.firm(FILING_STOCK_DUE)
    return filing_due(reached_on)


def pipo_due(reached_on: dt.date) -> Due:
    """The officer report's deadline: 30 working days after the day, or the stock's own date if it came first."""
    if reached_on < PIPO_ANNOUNCED:
        return Due.firm(PIPO_STOCK_DUE)
    return filing_due(reached_on)


# --- The threshold monitor -------------------------------------------------------------------


@transaction.atomic  # its obligation and audit event together, whoever calls it
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
    # The day the number was reached, from the holdings' history: the count only noticed it today.
    reached_on = first_day_reaching(entity, FILING_THRESHOLD) or day
    due = threshold_due(reached_on)
    obligation = FilingObligation(entity=entity, kind=FilingObligation.Kind.INITIAL, triggered_on=reached_on)
    obligation.due_set(due)
    obligation.save()
    audit_record(
        actor="task:person_counts",
        action="filing.obligation_opened",
        target=entity,
        data={
            "kind": "initial",
            "triggered_on": reached_on.isoformat(),
            "due_on": due.on.isoformat(),
            "due_earliest": due.earliest.isoformat(),
            "provisional": due.provisional,
        },
    )
    return obligation


def years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _headcount_reached_on(entity: LegalEntity, number: int, today: dt.date) -> dt.date:
    """When the entity's headcount reached a number, by the safer of what is known.

    From the holdings when the faces alone reach it; otherwise the date of the DPO's declared
    headcount (the number was reached on that day at the latest), or today for lack of one.
    """
    from_faces = first_day_reaching(entity, number)
    if from_faces is not None:
        return from_faces
    if entity.pi_headcount is not None and entity.pi_headcount >= number and entity.pi_headcount_on:
        return entity.pi_headcount_on
    return today


@transaction.atomic
def headcount_check(*, entity: LegalEntity, day: dt.date, headcount: int) -> list[FilingObligation]:
    """The duties that follow the number of people whose personal information the entity handles (PIPL Arts 52, 54).

    At 1,000,000: report the personal information protection officer to the city cyberspace
    administration within 30 working days. Above 10,000,000: a compliance audit within two
    years, then every two years (the next one opens when the last is recorded).
    """
    opened: list[tuple[str, dt.date, Due]] = []
    if headcount >= PIPO_THRESHOLD and not entity.filing_obligations.filter(kind=FilingObligation.Kind.PIPO_REPORT):
        reached_on = _headcount_reached_on(entity, PIPO_THRESHOLD, day)
        opened.append((FilingObligation.Kind.PIPO_REPORT, reached_on, pipo_due(reached_on)))
    if headcount > AUDIT_THRESHOLD and not entity.filing_obligations.filter(
        kind=FilingObligation.Kind.COMPLIANCE_AUDIT
    ):
        reached_on = _headcount_reached_on(entity, AUDIT_THRESHOLD + 1, day)
        opened.append(
            (
                FilingObligation.Kind.COMPLIANCE_AUDIT,
                reached_on,
                Due.firm(years_later(reached_on, AUDIT_INTERVAL_YEARS)),
            )
        )
    obligations = []
    for kind, reached_on, due in opened:
        obligation = FilingObligation(entity=entity, kind=kind, triggered_on=reached_on)
        obligation.due_set(due)
        obligation.save()
        audit_record(
            actor="task:person_counts",
            action="filing.obligation_opened",
            target=entity,
            data={
                "kind": kind,
                "headcount": headcount,
                "triggered_on": reached_on.isoformat(),
                "due_on": due.on.isoformat(),
            },
        )

        def notify(obligation: FilingObligation = obligation, address: str = entity.dpo_email) -> None:
            send_mail(
                _("%(entity)s: %(duty)s, due %(due)s")
                % {
                    "entity": entity.name_zh,
                    "duty": obligation.get_kind_display(),
                    "due": due_text(obligation.due, "zh"),
                },
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


def obligations_due_recompute(*, actor: str) -> list[Moved]:
    """Compute again every open provisional filing deadline (obligations, and change reviews not decided yet)."""
    moved: list[Moved] = []
    open_obligations = FilingObligation.objects.filter(
        fulfilled_at__isnull=True, due_on_provisional=True
    ).select_related("entity")
    for obligation in open_obligations:
        if obligation.kind == FilingObligation.Kind.INITIAL:
            after = threshold_due(obligation.triggered_on)
        elif obligation.kind == FilingObligation.Kind.PIPO_REPORT:
            after = pipo_due(obligation.triggered_on)
        else:
            after = filing_due(obligation.triggered_on)
        if _moved(actor, obligation, after, "filing.due_recomputed"):
            moved.append(
                Moved(
                    what=str(obligation.get_kind_display()),
                    before=obligation.due,
                    after=after,
                    dpo_email=obligation.entity.dpo_email,
                )
            )
    reviews = ChangeReview.objects.filter(decided_at__isnull=True, due_on_provisional=True).select_related("entity")
    for review in reviews:
        after = filing_due(review.detected_on)
        if _moved(actor, review, after, "filing.change_review_due_recomputed"):
            moved.append(
                Moved(what=str(_("change review")), before=review.due, after=after, dpo_email=review.entity.dpo_email)
            )
    return moved


def _moved(actor: str, row: FilingObligation | ChangeReview, after: Due, action: str) -> bool:
    before = row.due
    if after == before:
        return False
    with transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(
            due_on=after.on, due_earliest=after.earliest, due_on_provisional=after.provisional
        )
        audit_record(
            actor=actor,
            action=action,
            target=row.entity,
            data={
                "row": row.pk,
                "before": before.on.isoformat(),
                "after": after.on.isoformat(),
                "provisional": after.provisional,
            },
        )
    return True
