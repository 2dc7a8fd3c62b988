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

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facerights.audit import audit_record

from ...registry.models import Holding, ProcessingSystem
from ..models import DeletionRequest, Propagation, ReconcileHold
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


def reconcile(system: ProcessingSystem, subject_keys: list[str], *, held_count: int, complete: bool) -> dict[str, Any]:
    """Compare a device's inventory with the ledger after it was away too long.

    - open instructions whose key the device still holds are returned to delete and acknowledge;
    - keys whose deletion already completed (a device restored from an old
      backup, say) are returned as `stale`: delete them, no acknowledgement;
    - keys the portal does not know are returned as `unknown`: report them
      through POST /api/v1/holdings with consent evidence, or delete them;
    - only a complete inventory closes the open instructions whose key is not in it, as
      not found, with the inventory's fingerprint and size as evidence; and if that would
      close more than a small share of the system's open instructions, they wait for the
      DPO instead (`awaiting_confirmation`): an empty or truncated list cannot clear the ledger.
    """
    keys = set(subject_keys)
    if held_count != len(keys) if complete else held_count < len(keys):
        raise ReconcileError(
            _("held_count says %(count)d keys, but the list has %(listed)d different keys (complete: %(complete)s).")
            % {"count": held_count, "listed": len(keys), "complete": "true" if complete else "false"}
        )
    inventory_sha256 = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    open_rows = list(
        Propagation.objects.filter(system=system)
        .exclude(state__in=Propagation.TERMINAL)
        .select_related("deletion_request")
    )
    to_delete = [row for row in open_rows if row.subject_key in keys]
    absent = [row for row in open_rows if row.subject_key not in keys] if complete else []
    closed = awaiting = 0
    if absent and len(absent) > reconcile_auto_close_limit(len(open_rows)):
        with transaction.atomic():  # the hold and its audit event together (the API view has no transaction)
            hold = ReconcileHold.objects.create(
                system=system,
                inventory_sha256=inventory_sha256,
                inventory_size=len(keys),
                open_count=len(open_rows),
                propagation_ids=[row.pk for row in absent],
            )
            audit_record(
                actor=f"device:{system.pk}",
                action="reconcile.held",
                target=system,
                data={"hold": hold.pk, "closing": len(absent), "open": len(open_rows), "inventory": inventory_sha256},
            )
            transaction.on_commit(lambda: _tell_dpo(hold))
        awaiting = len(absent)
    elif absent:
        closed = _close_absent(f"device:{system.pk}", absent, inventory_sha256, len(keys))
    known = dict(Holding.objects.filter(system=system, subject_key__in=keys).values_list("subject_key", "status"))
    stale = sorted(key for key, status in known.items() if status == Holding.Status.DELETED)
    unknown = sorted(keys - set(known))
    cursor = Propagation.objects.filter(system=system).aggregate(Max("feed_seq"))["feed_seq__max"] or 0
    return {
        "cursor": cursor,
        "delete": to_delete,
        "stale": stale,
        "unknown": unknown,
        "closed_not_found": closed,
        "awaiting_confirmation": awaiting,
    }


class ReconcileError(ValueError):
    """An inventory that contradicts itself: nothing is closed."""


def reconcile_auto_close_limit(open_count: int) -> int:
    """How many open instructions one reconcile may close as not found without the DPO."""
    return int(open_count * settings.FACERIGHTS_RECONCILE_AUTO_CLOSE_SHARE)


def _close_absent(actor: str, rows: list[Propagation], inventory_sha256: str, inventory_size: int) -> int:
    evidence = {"channel": "reconcile", "inventory_sha256": inventory_sha256, "inventory_size": inventory_size}
    return propagations_confirm(
        actor=actor,
        confirmations=[
            Confirmation(propagation_id=row.pk, outcome=Propagation.State.NOT_FOUND, evidence=evidence) for row in rows
        ],
    )


def reconcile_hold_decide(*, actor: str, hold: ReconcileHold, confirm: bool) -> ReconcileHold:
    """The DPO's decision on a held reconcile: close the instructions as not found, or keep them open."""
    with transaction.atomic():
        hold = ReconcileHold.objects.select_for_update().get(pk=hold.pk)
        if hold.state != ReconcileHold.State.WAITING:
            return hold
        if confirm:
            rows = list(Propagation.objects.filter(pk__in=hold.propagation_ids).exclude(state__in=Propagation.TERMINAL))
            _close_absent(actor, rows, hold.inventory_sha256, hold.inventory_size)
        hold.state = ReconcileHold.State.CONFIRMED if confirm else ReconcileHold.State.REJECTED
        hold.decided_by, hold.decided_at = actor, timezone.now()
        hold.save(update_fields=["state", "decided_by", "decided_at"])
        audit_record(actor=actor, action=f"reconcile.{hold.state}", target=hold.system, data={"hold": hold.pk})
    return hold


def _tell_dpo(hold: ReconcileHold) -> None:
    with translation.override("zh-hans"):
        send_mail(
            _("A device's inventory would close %(count)d deletions: confirm or reject") % {"count": hold.closing},
            _(
                "%(system)s reported an inventory of %(size)d keys that lacks %(count)d of its %(open)d open deletion "
                "instructions. They stay open until you decide in the admin (Deletions → Reconciles to confirm): "
                "confirm if the device truly holds none of them, reject if its list was wrong."
            )
            % {
                "system": hold.system.name_zh,
                "size": hold.inventory_size,
                "count": hold.closing,
                "open": hold.open_count,
            },
            None,
            [hold.system.entity.dpo_email],
        )


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
