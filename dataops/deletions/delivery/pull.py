"""Pull: a feed per system for devices that are offline for days.

    GET  /api/v1/systems/<id>/deletions?after=<cursor>   instructions in order
    POST /api/v1/systems/<id>/deletions/<instruction id>/ack
    POST /api/v1/systems/<id>/deletions/ack               up to 500 at once
    POST /api/v1/systems/<id>/reconcile                   after HTTP 410

Every instruction carries its cursor (the system's feed sequence number).
The feed serves instructions for FEED_RETENTION; a cursor older than that gets
HTTP 410, and the device uploads its inventory to reconcile.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any, cast

from django.db.models import Max
from django.utils import timezone

from ...registry.models import Holding, ProcessingSystem
from ..models import DeletionRequest, Propagation
from ..opening import trace_ids
from ..propagations import Confirmation, propagations_confirm, propagations_mark_delivered
from .base import Answer, Channel

logger = logging.getLogger(__name__)

FEED_RETENTION = dt.timedelta(days=90)
PAGE_LIMIT = 500


class CursorExpired(Exception):
    pass


class PullChannel(Channel):
    """A feed per system that devices read after a cursor, acknowledging each instruction."""

    mode = ProcessingSystem.Integration.PULL
    batch_size = 0  # nothing is sent: the device fetches its feed
    evidence_key = "device_evidence"
    actor_kind = "device"

    def acknowledge(self, system: ProcessingSystem, answers: list[Answer]) -> dict[str, str]:
        """Record a device's acknowledgements, all checked first (UnknownInstruction, PropagationError)."""
        states = self.confirm(system, answers, via={"channel": "pull", "acknowledged_at": timezone.now().isoformat()})
        acknowledged = (
            DeletionRequest.objects.filter(propagations__system=system, propagations__idempotency_key__in=list(states))
            .only("reference", "trace_id")
            .distinct()
        )
        logger.info(
            "feed of system %s: %d acknowledgements",
            system.pk,
            len(answers),
            extra={
                "system": system.pk,
                "deletions": sorted(d.reference for d in acknowledged)[:50],
                "request_ids": trace_ids(acknowledged),
            },
        )
        return states


def feed_read(system: ProcessingSystem, *, after: int, limit: int = PAGE_LIMIT) -> tuple[list[Propagation], int]:
    """Instructions after the cursor, in order, and the cursor to ask from next."""
    if after < system.feed_floor:
        raise CursorExpired
    rows = list(
        Propagation.objects.filter(system=system, feed_seq__gt=after)
        .select_related("deletion_request")
        .order_by("feed_seq")[: max(1, min(limit, PAGE_LIMIT))]
    )
    pending = [row.pk for row in rows if row.state == Propagation.State.PENDING]
    if pending:
        propagations_mark_delivered(actor=f"device:{system.pk}", propagation_ids=pending)
        delivered = [row.deletion_request for row in rows if row.state == Propagation.State.PENDING]
        logger.info(
            "feed of system %s: %d instructions delivered",
            system.pk,
            len(pending),
            extra={
                "system": system.pk,
                "deletions": sorted({d.reference for d in delivered})[:50],
                "request_ids": trace_ids(delivered),
            },
        )
    # feed_seq__gt leaves out the rows without a place in the feed.
    return rows, (cast(int, rows[-1].feed_seq) if rows else after)


def reconcile(system: ProcessingSystem, subject_keys: list[str]) -> dict[str, Any]:
    """Compare a device's whole inventory with the ledger after it was away too long.

    - open instructions whose key the device no longer holds are confirmed
      not found, with the inventory's fingerprint as evidence;
    - open instructions whose key it still holds are returned to delete and acknowledge;
    - keys whose deletion already completed (a device restored from an old
      backup, say) are returned as `stale`: delete them, no acknowledgement;
    - keys the portal does not know are returned as `unknown`: report them
      through POST /api/v1/holdings with consent evidence, or delete them.
    """
    keys = set(subject_keys)
    inventory_sha256 = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    open_rows = list(
        Propagation.objects.filter(system=system)
        .exclude(state__in=Propagation.TERMINAL)
        .select_related("deletion_request")
    )
    to_delete = [row for row in open_rows if row.subject_key in keys]
    evidence = {"channel": "reconcile", "inventory_sha256": inventory_sha256, "inventory_size": len(keys)}
    propagations_confirm(
        actor=f"device:{system.pk}",
        confirmations=[
            Confirmation(propagation_id=row.pk, outcome=Propagation.State.NOT_FOUND, evidence=evidence)
            for row in open_rows
            if row.subject_key not in keys
        ],
    )
    known = dict(Holding.objects.filter(system=system, subject_key__in=keys).values_list("subject_key", "status"))
    stale = sorted(key for key, status in known.items() if status == Holding.Status.DELETED)
    unknown = sorted(keys - set(known))
    cursor = Propagation.objects.filter(system=system).aggregate(Max("feed_seq"))["feed_seq__max"] or 0
    return {"cursor": cursor, "delete": to_delete, "stale": stale, "unknown": unknown}


def feed_retention_advance(system: ProcessingSystem, *, now: dt.datetime | None = None) -> int:
    """Stop serving instructions older than FEED_RETENTION; return the new floor."""
    now = now or timezone.now()
    floor = (
        Propagation.objects.filter(
            system=system, created_at__lt=now - FEED_RETENTION, feed_seq__isnull=False
        ).aggregate(Max("feed_seq"))["feed_seq__max"]
        or 0
    )
    if floor > system.feed_floor:
        ProcessingSystem.objects.filter(pk=system.pk, feed_floor__lt=floor).update(feed_floor=floor)
    return max(floor, system.feed_floor)


def feeds_retention_advance() -> int:
    """Advance the retention floor of every pull feed; return how many feeds there are."""
    systems = list(ProcessingSystem.objects.filter(integration=ProcessingSystem.Integration.PULL))
    for system in systems:
        feed_retention_advance(system)
    return len(systems)
