"""The DPO's dashboard on the admin index: what is late, counts against the filing threshold, health."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, F
from django.db.models.functions import TruncDate, TruncWeek
from django.utils import timezone

from facerights.liveness import heartbeats, queue_depths
from facerights.workdays import year_is_covered

from ..deletions import states
from ..deletions.models import DeletionRequest, Propagation
from ..filings.models import ChangeReview, FilingObligation, PersonCount
from ..filings.obligations import FILING_THRESHOLD
from ..incidents.deadlines import clock_text
from ..incidents.models import Incident
from ..registry.models import LegalEntity
from ..requests.models import Request
from .health import systems_health

WIDTH, HEIGHT, PAD = 640, 220, 40
# Line colours with at least 4.5:1 contrast on white, one per legal entity, named in the legend.
PALETTE = ("#0b5394", "#38761d", "#b45f06", "#674ea7", "#a61c00", "#134f5c")


def _line_chart(series: dict[str, list[tuple[dt.date, int]]], threshold: int) -> dict:
    dates = sorted({d for points in series.values() for d, _v in points})
    if not dates:
        return {"lines": [], "threshold_y": None}
    top = max([threshold] + [v for points in series.values() for _d, v in points]) * 1.1
    first, last = dates[0], dates[-1]
    span = max((last - first).days, 1)

    def x(day):
        return PAD + (WIDTH - 2 * PAD) * (day - first).days / span

    def y(value):
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value / top

    lines = [
        {
            "name": name,
            "colour": PALETTE[n % len(PALETTE)],
            "points": " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in points),
            "last": points[-1][1] if points else 0,
        }
        for n, (name, points) in enumerate(series.items())
    ]
    return {"lines": lines, "threshold_y": f"{y(threshold):.1f}", "first": first, "last": last}


def _bar_chart(points: list[tuple[dt.date, int]]) -> dict:
    """Bars of counts over consecutive periods, scaled to the chart; each keeps its date and value for its title."""
    top = max([value for _day, value in points] + [1])
    slot = (WIDTH - 2 * PAD) / max(len(points), 1)
    bars = []
    for n, (day, value) in enumerate(points):
        height = (HEIGHT - 2 * PAD) * value / top
        bars.append(
            {
                "x": f"{PAD + n * slot + slot * 0.1:.1f}",
                "y": f"{HEIGHT - PAD - height:.1f}",
                "width": f"{slot * 0.8:.1f}",
                "height": f"{height:.1f}",
                "day": day,
                "value": value,
            }
        )
    return {"bars": bars, "top": top, "baseline": HEIGHT - PAD}


def requests_per_week(today: dt.date, weeks: int = 12) -> list[tuple[dt.date, int]]:
    """Requests received in each of the last `weeks` weeks (Monday to Sunday, Beijing time), empty weeks as 0."""
    monday = today - dt.timedelta(days=today.weekday())
    starts = [monday - dt.timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    counted = {
        timezone.localdate(row["week"]) if isinstance(row["week"], dt.datetime) else row["week"]: row["n"]
        for row in Request.objects.filter(received_at__date__gte=starts[0])
        .annotate(week=TruncWeek("received_at"))
        .values("week")
        .annotate(n=Count("pk"))
        .order_by()
    }
    return [(start, counted.get(start, 0)) for start in starts]


def deletions_completed_per_day(today: dt.date, days: int = 30) -> list[tuple[dt.date, int]]:
    """Deletions every system confirmed, per day (Beijing time), connection tests left out, empty days as 0."""
    first = today - dt.timedelta(days=days - 1)
    counted = {
        row["day"]: row["n"]
        for row in DeletionRequest.objects.filter(
            action=DeletionRequest.Action.DELETE,
            completed_at__date__gte=first,
            subject__is_synthetic=False,
        )
        .annotate(day=TruncDate("completed_at"))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
    }
    return [(first + dt.timedelta(days=n), counted.get(first + dt.timedelta(days=n), 0)) for n in range(days)]


def open_incidents(user, now: dt.datetime) -> list[dict]:
    """Incidents not yet closed, the one whose report is due first on top, with their clocks."""
    if not user.has_perm("dataops.view_incident"):
        return []
    return [
        {
            "incident": incident,
            "clock": clock_text(incident, now),
            "overdue": incident.reported_at is None and now > incident.report_due_at,
        }
        for incident in Incident.objects.exclude(state=Incident.State.CLOSED)
        .select_related("entity")
        .order_by("reported_at", "report_due_at")
    ]


def dashboard_context(user) -> dict:
    """Everything the dashboard shows, for a user who may see the request queue ({"show": False} otherwise)."""
    now = timezone.now()
    incidents = open_incidents(user, now)
    if not user.has_perm("dataops.view_request"):
        return {"show": False, "incidents": incidents}
    today = timezone.localdate(now)
    entities = list(LegalEntity.objects.order_by("name_zh"))
    counts: dict[str, list[tuple[dt.date, int]]] = {e.name_zh: [] for e in entities}
    for row in (
        PersonCount.objects.filter(date__gte=today - dt.timedelta(days=180)).select_related("entity").order_by("date")
    ):
        counts[row.entity.name_zh].append((row.date, row.persons))
    weeks_since = today - dt.timedelta(weeks=12)
    weekly = (
        Request.objects.filter(received_at__date__gte=weeks_since)
        .annotate(week=TruncWeek("received_at"))
        .values("week", "type", "state")
        .annotate(n=Count("pk"))
        .order_by("week", "type", "state")
    )
    closed = Request.objects.filter(state=Request.State.COMPLETED, closed_at__date__gte=today - dt.timedelta(days=90))
    on_time = closed.filter(closed_at__date__lte=F("due_on")).count()
    total_closed = closed.count()
    health = systems_health(now=now)
    processes = heartbeats(now)
    return {
        "show": True,
        "incidents": incidents,
        "threshold": FILING_THRESHOLD,
        "entity_chart": _line_chart(counts, FILING_THRESHOLD),
        "requests_chart": _bar_chart(requests_per_week(today)),
        "deletions_chart": _bar_chart(deletions_completed_per_day(today)),
        "entity_rows": [(name, points[-1] if points else None) for name, points in counts.items()],
        "weekly": list(weekly),
        "on_time": on_time,
        "total_closed": total_closed,
        "on_time_share": round(100 * on_time / total_closed) if total_closed else None,
        "health": health,
        "health_counts": {
            label: sum(1 for h in health if h.label == label)
            for label in ("healthy", "failing", "overdue", "reassessment", "not_connected", "paused")
        },
        "overdue_requests": Request.objects.filter(state__in=Request.OPEN_STATES, due_earliest__lt=today).count(),
        "overdue_propagations": Propagation.objects.for_people()
        .filter(deadline__lt=today)
        .exclude(state__in=states.TERMINAL)
        .count(),
        "escalated": Propagation.objects.for_people().filter(state=Propagation.State.ESCALATED).count(),
        "obligations": FilingObligation.objects.filter(fulfilled_at=None)
        .select_related("entity")
        .order_by("due_earliest"),
        "open_change_reviews": ChangeReview.objects.filter(decided_at=None).count(),
        "processes": processes,
        "beat_alive": any(p["state"] == "alive" and p["beat"].kind == "beat" for p in processes),
        "silent_workers": [p["beat"].name for p in processes if p["state"] == "silent" and p["beat"].kind == "worker"],
        "queue_depths": queue_depths(),
        "next_year": today.year + 1,
        "next_year_covered": year_is_covered(today.year + 1),
        "width": WIDTH,
        "height": HEIGHT,
        "pad": PAD,
    }
