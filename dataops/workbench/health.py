"""Is each processing system doing its job? Delivery health figures for the DPO's dashboard."""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import cast

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..deletions import states
from ..deletions.blocked import blocked_reason
from ..deletions.models import DeliveryAttempt, Propagation
from ..registry.models import ProcessingSystem


@dataclass
class Health:
    system: ProcessingSystem
    last_success_at: dt.datetime | None
    last_contact_at: dt.datetime | None
    attempts: int
    failures: int
    median_seconds: float | None
    p95_seconds: float | None
    overdue: int

    @property
    def failure_rate(self) -> float | None:
        return self.failures / self.attempts if self.attempts else None

    @property
    def label(self) -> str:
        blocked = blocked_reason(self.system)
        if blocked is not None:
            return blocked  # the cause comes first: nothing reaches it
        if self.overdue:
            return "overdue"
        if self.system.reassessment_since:
            return "reassessment"
        if self.failure_rate and self.failure_rate > 0.2:
            return "failing"
        return "healthy"

    @property
    def label_display(self) -> str:
        return str(LABELS[self.label])


LABELS = {
    "not_connected": _("receives no deletions: not connected yet"),
    "paused": _("receives no deletions: deliveries paused"),
    "healthy": _("healthy"),
    "failing": _("failing"),
    "overdue": _("deletions overdue"),
    "reassessment": _("needs reassessment: enrols no one new"),
}


def systems_health(*, days: int = 30, now: dt.datetime | None = None) -> list[Health]:
    """Per system over the last `days`: delivery failures, time to delete, overdue propagations."""
    now = now or timezone.now()
    since = now - dt.timedelta(days=days)
    today = timezone.localdate(now)
    systems = list(ProcessingSystem.objects.exclude(status=ProcessingSystem.Status.RETIRED).order_by("name_zh"))
    attempts = dict(
        DeliveryAttempt.objects.filter(started_at__gte=since)
        .values("propagation__system")
        .annotate(n=Count("pk"))
        .values_list("propagation__system", "n")
    )
    failures = dict(
        DeliveryAttempt.objects.filter(started_at__gte=since, outcome__in=["transient", "permanent"])
        .values("propagation__system")
        .annotate(n=Count("pk"))
        .values_list("propagation__system", "n")
    )
    overdue = dict(
        Propagation.objects.for_people()
        .filter(deadline__lt=today)
        .exclude(state__in=states.TERMINAL)
        .values("system")
        .annotate(n=Count("pk"))
        .values_list("system", "n")
    )
    durations: dict[int, list[float]] = {}
    for system_id, created, confirmed in Propagation.objects.filter(
        confirmed_at__gte=since, state__in=states.TERMINAL
    ).values_list("system_id", "created_at", "confirmed_at"):
        confirmed = cast(dt.datetime, confirmed)  # confirmed_at__gte leaves out the rows without one
        durations.setdefault(system_id, []).append((confirmed - created).total_seconds())
    result = []
    for system in systems:
        times = sorted(durations.get(system.pk, []))
        result.append(
            Health(
                system=system,
                last_success_at=system.last_success_at,
                last_contact_at=system.last_contact_at,
                attempts=attempts.get(system.pk, 0),
                failures=failures.get(system.pk, 0),
                median_seconds=statistics.median(times) if times else None,
                p95_seconds=times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] if times else None,
                overdue=overdue.get(system.pk, 0),
            )
        )
    return result
