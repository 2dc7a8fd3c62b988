"""Figures for Prometheus: the state of requests and deletions, delivery latency, queues, liveness.

Everything is read from the database and the broker at scrape time, so any
web process on any host gives the same answer and nothing is lost when a
worker restarts. The latency histograms are cumulative over every finished
delivery: each process adds what finished since its last scrape, up to a
cut-off on a one-minute grid that lags a minute behind the clock, so two
processes scraped at the same moment report the same counts and a late
commit is still counted.
"""

from __future__ import annotations

import datetime as dt
import threading

from django.db.models import Count, DurationField, ExpressionWrapper, F, Max, Q, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector, CollectorRegistry
from prometheus_client.utils import floatToGoString

from facerights.liveness import heartbeats, queue_depths

from ..deletions.models import DeletionRequest, DeliveryAttempt, Propagation
from ..filings.models import PersonCount
from ..registry.models import LegalEntity, ProcessingSystem
from ..requests.models import Request

# Seconds: a webhook answers in well under a second; a confirmation may take a day.
CALL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CONFIRM_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 24 * 3600, 15 * 24 * 3600)
GRID = dt.timedelta(minutes=1)
LAG = dt.timedelta(minutes=1)


class _Cumulative:
    """Per-system histogram counts over rows whose end time is before a moving cut-off."""

    def __init__(self, queryset, *, system: str, start: str, end: str, buckets: tuple[float, ...]):
        self.queryset, self.system_field, self.start, self.end = queryset, system, start, end
        self.buckets = buckets
        self.cursor: dt.datetime | None = None
        self.counts: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}
        self.lock = threading.Lock()

    def advance(self, now: dt.datetime) -> None:
        cutoff = dt.datetime.fromtimestamp(
            (now - LAG).timestamp() // GRID.total_seconds() * GRID.total_seconds(), dt.UTC
        )
        with self.lock:
            if self.cursor is not None and cutoff <= self.cursor:
                return
            rows = self.queryset().filter(**{f"{self.end}__lt": cutoff})
            if self.cursor is not None:
                rows = rows.filter(**{f"{self.end}__gte": self.cursor})
            duration = ExpressionWrapper(F(self.end) - F(self.start), output_field=DurationField())
            aggregates = {
                f"le{n}": Count("pk", filter=Q(duration__lte=dt.timedelta(seconds=bound)))
                for n, bound in enumerate(self.buckets)
            }
            for row in (
                rows.alias(duration=duration)
                .values(self.system_field)
                .annotate(total=Count("pk"), seconds=Sum("duration"), **aggregates)
            ):
                system = str(row[self.system_field])
                counts = self.counts.setdefault(system, [0] * (len(self.buckets) + 1))
                for n in range(len(self.buckets)):
                    counts[n] += row[f"le{n}"]
                counts[-1] += row["total"]
                seconds = row["seconds"]
                self.sums[system] = self.sums.get(system, 0.0) + (
                    seconds.total_seconds() if isinstance(seconds, dt.timedelta) else (seconds or 0) / 1e6
                )
            self.cursor = cutoff

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, documentation, labels=["system"])
        with self.lock:
            for system, counts in sorted(self.counts.items()):
                buckets = [(floatToGoString(bound), counts[n]) for n, bound in enumerate(self.buckets)]
                buckets.append(("+Inf", counts[-1]))
                family.add_metric([system], buckets, self.sums.get(system, 0.0))
        return family


_calls = _Cumulative(
    lambda: DeliveryAttempt.objects.filter(finished_at__isnull=False),
    system="propagation__system_id",
    start="started_at",
    end="finished_at",
    buckets=CALL_BUCKETS,
)
_confirmations = _Cumulative(
    lambda: Propagation.objects.filter(confirmed_at__isnull=False, state__in=Propagation.TERMINAL),
    system="system_id",
    start="created_at",
    end="confirmed_at",
    buckets=CONFIRM_BUCKETS,
)


def metrics_reset() -> None:
    """Forget the cumulative histograms (tests roll the database back under them)."""
    for histogram in (_calls, _confirmations):
        with histogram.lock:
            histogram.cursor, histogram.counts, histogram.sums = None, {}, {}


class FaceRightsCollector(Collector):
    def __init__(self, now: dt.datetime | None = None):
        self.now = now

    def collect(self):
        now = self.now or timezone.now()
        today = timezone.localdate(now)

        systems = GaugeMetricFamily(
            "facerights_system_info",
            "A processing system: its id (the label elsewhere) and name.",
            labels=["system", "name", "integration", "status"],
        )
        for pk, name, integration, status in ProcessingSystem.objects.values_list(
            "pk", "name_zh", "integration", "status"
        ):
            systems.add_metric([str(pk), name, integration, status], 1)
        yield systems

        requests = GaugeMetricFamily(
            "facerights_requests", "Rights requests by type and state.", labels=["type", "state"]
        )
        for row in Request.objects.values("type", "state").annotate(n=Count("pk")).order_by():
            requests.add_metric([row["type"], row["state"]], row["n"])
        yield requests

        deletions = GaugeMetricFamily("facerights_deletion_requests", "Deletion requests by state.", labels=["state"])
        deleting = DeletionRequest.objects.filter(action=DeletionRequest.Action.DELETE)
        for row in deleting.values("state").annotate(n=Count("pk")).order_by():
            deletions.add_metric([row["state"]], row["n"])
        yield deletions

        propagations = GaugeMetricFamily(
            "facerights_propagations", "Deletions to each system by state.", labels=["system", "state"]
        )
        for row in Propagation.objects.values("system", "state").annotate(n=Count("pk")).order_by():
            propagations.add_metric([str(row["system"]), row["state"]], row["n"])
        yield propagations

        overdue = GaugeMetricFamily(
            "facerights_propagations_overdue",
            "Deletions past their deadline, not yet confirmed, by system.",
            labels=["system"],
        )
        for row in (
            Propagation.objects.for_people()
            .filter(deadline__lt=today)
            .exclude(state__in=Propagation.TERMINAL)
            .values("system")
            .annotate(n=Count("pk"))
            .order_by()
        ):
            overdue.add_metric([str(row["system"])], row["n"])
        yield overdue

        overdue_requests = GaugeMetricFamily(
            "facerights_requests_overdue", "Rights requests still open past their legal due date."
        )
        overdue_requests.add_metric(
            [], Request.objects.filter(state__in=Request.OPEN_STATES, due_earliest__lt=today).count()
        )
        yield overdue_requests

        _calls.advance(now)
        yield _calls.family("facerights_delivery_call_seconds", "Duration of each call to a processing system.")
        _confirmations.advance(now)
        yield _confirmations.family(
            "facerights_deletion_confirm_seconds", "From a deletion's creation to the system's confirmation."
        )

        queues = GaugeMetricFamily("facerights_queue_depth", "Messages waiting in each Celery queue.", labels=["queue"])
        for kind, depth in queue_depths().items():
            if depth is not None:
                queues.add_metric([kind], depth)
        yield queues

        persons = GaugeMetricFamily(
            "facerights_stored_persons",
            "Distinct persons whose facial data an entity stores (latest daily count).",
            labels=["entity"],
        )
        latest = PersonCount.objects.values("entity").annotate(date=Max("date"))
        wanted = Q()
        for row in latest:
            wanted |= Q(entity=row["entity"], date=row["date"])
        if latest:
            for count in PersonCount.objects.filter(wanted):
                persons.add_metric([str(count.entity_id)], count.persons)
        yield persons

        entities = GaugeMetricFamily(
            "facerights_entity_info", "A legal entity: its id and name.", labels=["entity", "name"]
        )
        for pk, name in LegalEntity.objects.values_list("pk", "name_zh"):
            entities.add_metric([str(pk), name], 1)
        yield entities

        last_seen = GaugeMetricFamily(
            "facerights_heartbeat_age_seconds",
            "Seconds since each worker or beat last reported.",
            labels=["kind", "name", "state"],
        )
        for row in heartbeats(now):
            last_seen.add_metric([row["beat"].kind, row["beat"].name, row["state"]], row["age_seconds"])
        yield last_seen


def metrics_render(now: dt.datetime | None = None) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FaceRightsCollector(now))
    return generate_latest(registry)
