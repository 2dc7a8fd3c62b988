"""Is each processing system doing its job? Connection tests and health figures for the DPO."""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import statistics
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from consent.models import DataSubject
from facerights import crypto
from facerights.audit import audit_record

from .models import ConnectionTest, DeletionRequest, DeliveryAttempt, Holding, ProcessingSystem, Propagation

TEST_KEY_PREFIX = "FACERIGHTS-TEST-"


def connection_test_start(*, actor: str, system: ProcessingSystem, activate_on_pass: bool = False) -> ConnectionTest:
    """Send a synthetic deletion for a test key the system has never seen; it should answer not_found.

    The test subject is synthetic (never counted as a person). The test passes
    when the system confirms, through the same path as any deletion.
    """
    from .deletion import deletion_request_open

    now = timezone.now()
    with transaction.atomic():
        subject = DataSubject.objects.create(wrapped_key=crypto.data_key_new()[1], is_synthetic=True)
        Holding.objects.create(
            subject=subject,
            system=system,
            subject_key=TEST_KEY_PREFIX + secrets.token_hex(8),
            data_kind=Holding.DataKind.TEMPLATE,
            enrolled_at=now,
            retention_until=timezone.localdate(now),
        )
        deletion = deletion_request_open(
            actor=actor, subject=subject, trigger=DeletionRequest.Trigger.DPO_ACTION, systems=[system]
        )
        test = ConnectionTest.objects.create(
            system=system,
            deletion_request=deletion,
            activate_on_pass=activate_on_pass,
            started_at=now,
            started_by=actor,
        )
        audit_record(actor=actor, action="system.connection_test_started", target=system, data={"test": test.pk})
    return test


def connection_tests_complete(*, actor: str, deletion_ids: list[int]) -> None:
    """Called when deletions complete: a test whose system confirmed passes (and may activate it)."""
    from .services import system_activate

    for test in ConnectionTest.objects.filter(
        deletion_request_id__in=deletion_ids, passed_at__isnull=True
    ).select_related("system"):
        confirmed = not test.deletion_request.propagations.exclude(state__in=Propagation.TERMINAL).exists()
        if not confirmed:
            continue
        ConnectionTest.objects.filter(pk=test.pk).update(passed_at=timezone.now())
        audit_record(actor=actor, action="system.connection_test_passed", target=test.system, data={"test": test.pk})
        if test.activate_on_pass and test.system.status == ProcessingSystem.Status.DRAFT:
            # If another gate is still closed, the DPO sees why when activating by hand.
            with contextlib.suppress(ValidationError):
                system_activate(actor=test.started_by, system=test.system)


def connection_test_passed(system: ProcessingSystem) -> bool:
    return system.connection_tests.filter(passed_at__isnull=False).exists()


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
        if self.overdue:
            return "overdue"
        if self.failure_rate and self.failure_rate > 0.2:
            return "failing"
        return "healthy"


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
        Propagation.objects.filter(deadline__lt=today)
        .exclude(state__in=Propagation.TERMINAL)
        .values("system")
        .annotate(n=Count("pk"))
        .values_list("system", "n")
    )
    durations: dict[int, list[float]] = {}
    for system_id, created, confirmed in Propagation.objects.filter(
        confirmed_at__gte=since, state__in=Propagation.TERMINAL
    ).values_list("system_id", "created_at", "confirmed_at"):
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
