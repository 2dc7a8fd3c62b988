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
from dataclasses import dataclass
from typing import Any, cast

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facerights import crypto
from facerights.audit import audit_record

from ...registry.models import Holding, ProcessingSystem, SystemCredential
from ..models import DeletionRequest, Propagation, ReconcileHold
from ..opening import trace_ids
from ..propagations import Confirmation, propagations_confirm, propagations_mark_delivered
from .base import CONTACT_RESOLUTION, Answer, Channel

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
        .order_by("feed_seq")[: _page_size(limit)]
    )
    return _delivered(system, rows, after=after)


def _page_size(limit: int) -> int:
    return max(1, min(limit, PAGE_LIMIT))


def _delivered(system: ProcessingSystem, rows: list[Propagation], *, after: int) -> tuple[list[Propagation], int]:
    """Mark a page's pending instructions sent (they reached the device); return it and the cursor after it."""
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


@dataclass(frozen=True)
class FeedPage:
    """A page of a system's feed read with its token (feed_with_token), and what it was asked for."""

    system_id: int
    after: int
    limit: int
    rows: list[Propagation]

    def serves(self, system_id: int, after: int, limit: int) -> bool:
        """It is the page of these parameters (as the API validated them)."""
        return (self.system_id, self.after, self.limit) == (system_id, after, limit)


def feed_page_deliver(system: ProcessingSystem, page: FeedPage) -> tuple[list[Propagation], int]:
    """What feed_read answers, from a page feed_with_token read: its pending instructions marked sent."""
    return _delivered(system, page.rows, after=max(page.after, 0))


def _in_model_order(model: type[models.Model], *columns: str) -> tuple[str, ...]:
    """Columns in the order of the model's fields, as Model.from_db takes a partial row."""
    order = [f.attname for f in model._meta.concrete_fields]
    return tuple(sorted(columns, key=order.index))


_SYSTEM_COLUMNS = _in_model_order(
    ProcessingSystem, "id", "integration", "status", "feed_seq", "feed_floor", "last_contact_at"
)
_PROPAGATION_COLUMNS = _in_model_order(
    Propagation,
    "id",
    "deletion_request_id",
    "system_id",
    "subject_key",
    "idempotency_key",
    "state",
    "feed_seq",
    "deadline",
)
_DELETION_COLUMNS = _in_model_order(DeletionRequest, "id", "reference", "action", "trace_id")

# One statement: the live token's system (as system_for_token finds it), its last contact
# recorded when older than CONTACT_RESOLUTION and the system is in good standing (as
# Channel.contact records it), and, when the system asks for its own pull feed with a cursor
# neither ahead of it nor below its floor, the page after the cursor with each instruction's
# deletion (as feed_read reads it). A data-modifying WITH runs once, whatever the SELECT reads.
_FEED_WITH_TOKEN = f"""
WITH credential AS (
    SELECT {", ".join(f"s.{c}" for c in _SYSTEM_COLUMNS)}
    FROM {SystemCredential._meta.db_table} c
    JOIN {ProcessingSystem._meta.db_table} s ON s.id = c.system_id
    WHERE c.kind = %(kind)s AND c.token_hash = %(digest)s AND (c.expires_at IS NULL OR c.expires_at > %(now)s)
    ORDER BY c.id
    LIMIT 1
), contact AS (
    UPDATE {ProcessingSystem._meta.db_table} s SET last_contact_at = %(now)s
    FROM credential
    WHERE s.id = credential.id AND credential.status = ANY(%(statuses)s)
        AND (s.last_contact_at IS NULL OR s.last_contact_at < %(since)s)
    RETURNING s.id
)
SELECT {", ".join(f"credential.{c}" for c in _SYSTEM_COLUMNS)}, asked.page_read,
    {", ".join(f"page.p_{c}" for c in _PROPAGATION_COLUMNS)},
    {", ".join(f"page.d_{c}" for c in _DELETION_COLUMNS)}
FROM credential
CROSS JOIN LATERAL (
    SELECT credential.id = %(system_id)s AND credential.integration = %(pull)s
        AND credential.status = ANY(%(statuses)s)
        AND %(after)s <= credential.feed_seq AND %(from)s >= credential.feed_floor AS page_read
) asked
LEFT JOIN LATERAL (
    SELECT {", ".join(f"p.{c} AS p_{c}" for c in _PROPAGATION_COLUMNS)},
        {", ".join(f"d.{c} AS d_{c}" for c in _DELETION_COLUMNS)}
    FROM {Propagation._meta.db_table} p
    JOIN {DeletionRequest._meta.db_table} d ON d.id = p.deletion_request_id
    WHERE asked.page_read AND p.system_id = credential.id AND p.feed_seq > %(from)s
    ORDER BY p.feed_seq
    LIMIT %(limit)s
) page ON true
ORDER BY page.p_feed_seq
"""  # noqa: S608 (names come from the models; values are parameters)


def feed_with_token(
    token: str, *, system_id: int, after: int, limit: int, statuses: tuple[str, ...]
) -> tuple[ProcessingSystem | None, FeedPage | None]:
    """A device's feed request in one SQL statement: its token, its last contact and its page.

    `statuses`: those in which a system's credentials do everything (the API's standing rules).
    Without a live token: (None, None). For a system in one of `statuses`: the system (the
    columns the feed needs loaded, the rest deferred), its contact recorded at most once a
    minute, and its page when the request is for its own pull feed with a cursor that is
    neither ahead of the feed nor expired (else None: the caller answers as without this).
    For any other system: (system, None) and nothing recorded; the caller applies its rules.
    Nothing is marked delivered here: feed_page_deliver does that once the request is answered.
    PostgreSQL only.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _FEED_WITH_TOKEN,
            {
                "kind": SystemCredential.Kind.DEVICE_TOKEN.value,
                "digest": crypto.token_digest(token),
                "now": now,
                "since": now - CONTACT_RESOLUTION,
                "statuses": list(statuses),
                "system_id": system_id,
                "pull": ProcessingSystem.Integration.PULL.value,
                "after": after,
                "from": max(after, 0),
                "limit": _page_size(limit),
            },
        )
        found = cursor.fetchall()
    if not found:
        return None, None
    db = connection.alias
    width = len(_SYSTEM_COLUMNS)
    system = ProcessingSystem.from_db(db, _SYSTEM_COLUMNS, found[0][:width])
    if not found[0][width]:  # the page was not read
        return system, None
    rows = []
    split = width + 1 + len(_PROPAGATION_COLUMNS)
    for row in found:
        if row[width + 1] is None:  # the page is empty
            continue
        propagation = Propagation.from_db(db, _PROPAGATION_COLUMNS, row[width + 1 : split])
        _DELETION_REQUEST.set_cached_value(propagation, DeletionRequest.from_db(db, _DELETION_COLUMNS, row[split:]))
        rows.append(propagation)
    return system, FeedPage(system_id=system_id, after=after, limit=limit, rows=rows)


_DELETION_REQUEST = Propagation._meta.get_field("deletion_request")


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
