"""What others read of incidents: the evidence a filing's bundle carries."""

from __future__ import annotations

from typing import Any

from ..registry.models import LegalEntity
from .affected import affected_count
from .models import Incident


def incidents_evidence(entity: LegalEntity) -> list[dict[str, Any]]:
    """Each incident of the entity (drills marked: R27's evidence that the plan is practised), as facts and hashes."""
    rows = []
    for incident in (
        Incident.objects.filter(entity=entity).prefetch_related("reports", "notices").order_by("discovered_at")
    ):
        counts = affected_count(incident)
        rows.append(
            {
                "reference": incident.reference,
                "drill": incident.is_drill,
                "grade": incident.grade,
                "critical_infrastructure": incident.critical_infrastructure,
                "discovered_at": incident.discovered_at.isoformat(),
                "report_due_at": incident.report_due_at.isoformat(),
                "reported_at": incident.reported_at.isoformat() if incident.reported_at else None,
                "reported_on_time": bool(incident.reported_at and incident.reported_at <= incident.report_due_at),
                "state": incident.state,
                "closed_at": incident.closed_at.isoformat() if incident.closed_at else None,
                "people_affected": counts.total if counts else None,
                "reports": [
                    {
                        "kind": r.kind,
                        "version": r.version,
                        "sha256": r.fingerprint,
                        "sent_at": r.sent_at.isoformat() if r.sent_at else None,
                    }
                    for r in incident.reports.all()
                ],
                "notices": [
                    {
                        "reference": n.reference,
                        "sent_at": n.sent_at.isoformat() if n.sent_at else None,
                        "published_at": n.published_at.isoformat() if n.published_at else None,
                    }
                    for n in incident.notices.all()
                ],
            }
        )
    return rows
