"""Records of processing: every consent check counted, every refusal kept (Measures Art 9, PIPL Art 55, R25).

A system asks before each recognition (`/api/v1/consent-check`). Counting those
questions per system, purpose and day is the record of processing a DPO shows an
auditor and a filing states, at the cost of one upsert per check; each "no" is kept
as its own row, since a refusal is what a person or a regulator asks about later.
Both are kept three years (`processing_records_expire`, daily).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from consent.rules import birthday_in

from .holdings import consent_check
from .models import ProcessingDay, ProcessingRefusal, ProcessingSystem

RECORDS_KEPT_YEARS = 3


def consent_check_recorded(*, system: ProcessingSystem, subject_key: str, purpose: str) -> tuple[bool, str]:
    """The consent check a system calls before processing someone, recorded as processing."""
    allowed, reason = consent_check(system=system, subject_key=subject_key, purpose=purpose)
    now = timezone.now()
    table = ProcessingDay._meta.db_table
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One statement, on PostgreSQL and SQLite alike: no read, no lost update under concurrency.
            cursor.execute(
                f"INSERT INTO {table} (system_id, purpose, day, allowed, refused) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608 (the table name is ours)
                f"ON CONFLICT (system_id, purpose, day) DO UPDATE SET "
                f"allowed = {table}.allowed + excluded.allowed, refused = {table}.refused + excluded.refused",
                [system.pk, purpose, timezone.localdate(now), int(allowed), int(not allowed)],
            )
        if not allowed:
            ProcessingRefusal.objects.create(
                system=system, purpose=purpose, subject_key=subject_key, reason=reason, at=now
            )
    return allowed, reason


@dataclass(frozen=True)
class ProcessingSummary:
    since: dt.date
    until: dt.date
    allowed: int
    refused: int


def processing_summary(system: ProcessingSystem, *, until: dt.date, days: int = 365) -> ProcessingSummary:
    """What the records say a system did over the `days` up to `until` (for a filing's statement)."""
    since = until - dt.timedelta(days=days - 1)
    totals = ProcessingDay.objects.filter(system=system, day__gte=since, day__lte=until).aggregate(
        allowed=Sum("allowed"), refused=Sum("refused")
    )
    return ProcessingSummary(since=since, until=until, allowed=totals["allowed"] or 0, refused=totals["refused"] or 0)


def processing_records_expire(*, today: dt.date | None = None) -> int:
    """Delete the records older than three years; returns how many rows went."""
    today = today or timezone.localdate()
    cutoff = birthday_in(today.year - RECORDS_KEPT_YEARS, today)  # the same day three years ago
    with transaction.atomic():
        days, _ = ProcessingDay.objects.filter(day__lt=cutoff).delete()
        refusals, _ = ProcessingRefusal.objects.filter(at__date__lt=cutoff).delete()
    return days + refusals
