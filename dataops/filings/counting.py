"""The count that triggers filing: distinct natural persons whose faces an entity stores (R21)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from ..registry.models import Holding, LegalEntity
from .models import PersonCount
from .obligations import headcount_check, threshold_check

STORED = (
    Holding.Status.ACTIVE,
    Holding.Status.DELETION_PENDING,
    Holding.Status.RETAINED,
    Holding.Status.RESTRICTED,
)


def stored_persons(entity: LegalEntity) -> int:
    """Distinct people held by any of the entity's systems (deleted holdings drop out)."""
    return (
        Holding.objects.filter(system__entity=entity, status__in=STORED, subject__is_synthetic=False)
        .values("subject_id")
        .distinct()
        .count()
    )


def person_counts_take(*, today: dt.date | None = None) -> list[PersonCount]:
    """Record today's count for every entity (safe to run twice a day: the figure is replaced)."""
    today = today or timezone.localdate()
    taken = []
    for entity in LegalEntity.objects.all():
        persons = stored_persons(entity)
        with transaction.atomic():
            before = PersonCount.objects.filter(entity=entity, date__lt=today).order_by("-date").first()
            count, _created = PersonCount.objects.update_or_create(
                entity=entity, date=today, defaults={"persons": persons}
            )
            threshold_check(entity=entity, day=today, persons=persons, previous=before.persons if before else 0)
            headcount_check(entity=entity, day=today, headcount=max(persons, entity.pi_headcount or 0))
        taken.append(count)
    return taken
