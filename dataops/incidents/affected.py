"""Who an incident affects, from the registry: distinct people, children apart (their guardians are told).

A person is affected when a system involved held their facial data at discovery (enrolled
before, not yet deleted), within the incident's enrolment window when it has one, and,
for a system whose vendor sent the list of the keys exposed, among those keys.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from ..registry.models import Holding
from .models import AffectedKey, AffectedKeyList, Incident

CHILD_AGE = 14


@dataclass(frozen=True)
class Affected:
    adults: int
    children: int  # under 14 at discovery: their guardians are the ones told
    age_unknown: int  # no date of birth on record: told themselves, and counted apart

    @property
    def total(self) -> int:
        return self.adults + self.children + self.age_unknown


def affected_holdings(incident: Incident) -> QuerySet[Holding]:
    """The holdings exposed: in the systems involved, held at discovery, within the enrolment window.

    A system with a vendor's list of the keys exposed counts only those keys (its latest list).
    """
    lists = latest_key_lists(incident)
    where = Q(pk__in=[])
    for system_id in incident.systems.values_list("pk", flat=True):
        if system_id in lists:
            keys = AffectedKey.objects.filter(key_list=lists[system_id]).values("subject_key")
            where |= Q(system_id=system_id, subject_key__in=keys)
        else:
            where |= Q(system_id=system_id)
    found = (
        Holding.objects.filter(where)
        .filter(enrolled_at__lte=incident.discovered_at)
        .filter(Q(deleted_at__isnull=True) | Q(deleted_at__gt=incident.discovered_at))
    )
    if incident.affected_enrolled_from:
        found = found.filter(enrolled_at__gte=incident.affected_enrolled_from)
    if incident.affected_enrolled_until:
        found = found.filter(enrolled_at__lte=incident.affected_enrolled_until)
    return found


def latest_key_lists(incident: Incident) -> dict[int, AffectedKeyList]:
    """Each system's latest list of affected keys, by system id."""
    latest: dict[int, AffectedKeyList] = {}
    for key_list in incident.key_lists.select_related("system"):  # newest first
        latest.setdefault(key_list.system_id, key_list)
    return latest


def _born_after(day: dt.date) -> dt.date:
    """The birthday cut: a person born after this day was under 14 on `day`."""
    try:
        return day.replace(year=day.year - CHILD_AGE)
    except ValueError:  # 29 February
        return day.replace(year=day.year - CHILD_AGE, day=28)


def affected_count(incident: Incident) -> Affected | None:
    """Distinct people affected; None while the systems involved are not known."""
    if incident.pk is None or incident.scope_unknown or not incident.systems.exists():
        return None
    cut = _born_after(timezone.localdate(incident.discovered_at))
    counts = affected_holdings(incident).aggregate(
        children=Count("subject", distinct=True, filter=Q(subject__date_of_birth__gt=cut)),
        adults=Count("subject", distinct=True, filter=Q(subject__date_of_birth__lte=cut)),
        unknown=Count("subject", distinct=True, filter=Q(subject__date_of_birth__isnull=True)),
    )
    return Affected(adults=counts["adults"], children=counts["children"], age_unknown=counts["unknown"])
