"""When an entity's count of stored people first reached a number, rebuilt from its holdings.

A filing falls due 30 working days after the day the number was reached (Measures Art 15):
that day, not the first daily count after it, and not a running total of everyone ever
enrolled. A person counts on a day when, at the end of it, at least one of the entity's
systems held their face: from the day they were enrolled until the day their last holding
was deleted. Synthetic subjects (connection tests) never count.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.utils import timezone

from ..registry.models import Holding, LegalEntity


def first_day_reaching(entity: LegalEntity, number: int) -> dt.date | None:
    """The first day on which at least `number` distinct people were stored; None if never."""
    rows = (
        Holding.objects.filter(system__entity=entity, subject__is_synthetic=False)
        .order_by("subject_id", "enrolled_at")
        .values_list("subject_id", "enrolled_at", "deleted_at")
        .iterator(chunk_size=20_000)
    )
    changes: Counter[dt.date] = Counter()
    current: int | None = None
    intervals: list[tuple[dt.date, dt.date | None]] = []
    for subject_id, enrolled_at, deleted_at in rows:
        if subject_id != current:
            _count(intervals, changes)
            current, intervals = subject_id, []
        start = timezone.localdate(enrolled_at)
        end = timezone.localdate(deleted_at) if deleted_at else None
        if end is not None and end <= start:
            continue  # enrolled and deleted the same day: never stored at the end of a day
        intervals.append((start, end))
    _count(intervals, changes)
    stored = 0
    for day in sorted(changes):
        stored += changes[day]
        if stored >= number:
            return day
    return None


def _count(intervals: list[tuple[dt.date, dt.date | None]], changes: Counter[dt.date]) -> None:
    """Add one person's stored periods, merged, as +1 on their first day and -1 on the day they end."""
    merged: list[tuple[dt.date, dt.date | None]] = []
    for start, end in sorted(intervals, key=lambda interval: interval[0]):
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                merged[-1] = (last_start, None if last_end is None or end is None else max(last_end, end))
                continue
        merged.append((start, end))
    for start, end in merged:
        changes[start] += 1
        if end is not None:
            changes[end] -= 1
