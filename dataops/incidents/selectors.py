"""What others read of incidents: the evidence a filing's bundle carries, and what a change filing cites."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from ..registry.models import LegalEntity
from .affected import affected_count
from .models import Incident


def incidents_evidence(entity: LegalEntity) -> list[dict[str, Any]]:
    """Each incident of the entity (drills marked: R27's evidence that the plan is practised), as facts and hashes."""
    rows = []
    for incident in (
        Incident.objects.filter(entity=entity)
        .prefetch_related("reports", "notices", "contract_reviews__system", "key_lists__system")
        .order_by("discovered_at")
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
                "contract_reviews": [
                    {
                        "system": r.system.name_zh,
                        "opened_at": r.opened_at.isoformat(),
                        "outcome": r.outcome or None,
                        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
                    }
                    for r in incident.contract_reviews.all()
                ],
                "affected_key_lists": [
                    {
                        "system": k.system.name_zh,
                        "uploaded_at": k.uploaded_at.isoformat(),
                        "sha256": k.sha256,
                        "keys": k.keys_count,
                        "matched": k.matched,
                    }
                    for k in incident.key_lists.all()
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


def incidents_since(entity: LegalEntity, since: dt.datetime | None) -> list[dict[str, Any]]:
    """The real incidents (not drills) discovered since a moment, for a change filing to cite, oldest first."""
    found = Incident.objects.filter(entity=entity, is_drill=False).prefetch_related("systems")
    if since is not None:
        found = found.filter(discovered_at__gte=since)
    return [
        {
            "reference": incident.reference,
            "grade": incident.grade,
            # Days, Beijing time: what the filing's form shows.
            "discovered_on": timezone.localdate(incident.discovered_at).isoformat(),
            "reported_on": timezone.localdate(incident.reported_at).isoformat() if incident.reported_at else None,
            "systems": [system.name_zh for system in incident.systems.all()],
        }
        for incident in found.order_by("discovered_at")
    ]
