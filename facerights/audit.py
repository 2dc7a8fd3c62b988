"""The append-only audit chain: writing events and verifying chains.

Every service that changes state calls `audit_record` inside its own
transaction, so a rolled-back change leaves no event and a committed change
always has one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .db import column_cursor
from .models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64
REGISTRY_CHAIN = "registry"
SYSTEM_ACTOR = "system"


def actor_for(user: Any) -> str:
    """The actor label for a user, or "anonymous"."""
    if user is None or not getattr(user, "is_authenticated", False):
        return "anonymous"
    return f"user:{user.pk}"


def event_hash(
    *,
    chain: str,
    seq: int,
    prev_hash: str,
    at: Any,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    data: dict,
) -> str:
    """SHA-256 over a canonical JSON encoding of the event's fields."""
    payload = json.dumps(
        [chain, seq, prev_hash, at.isoformat(), actor, action, object_type, object_id, data],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def audit_record(
    *,
    actor: str,
    action: str,
    target: Model | None = None,
    chain: str | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append an event to the target's chain (or `chain`), inside the caller's transaction.

    `data` must be JSON made of strings, integers, booleans and lists or dicts
    of them, and must never hold personal data: ids and codes only.
    """
    return audit_record_many(actor=actor, entries=[Entry(action=action, target=target, data=data, chain=chain)])[0]


@dataclass(frozen=True)
class Entry:
    """One event for audit_record_many."""

    action: str
    target: Model | None = None
    data: dict | None = None
    chain: str | None = None


@dataclass(frozen=True)
class Row:
    """One event named by its chain and object without a model instance (audit_record_rows: mass writes)."""

    chain: str
    action: str
    object_type: str = ""
    object_id: str = ""
    data: dict | None = None


def _chain_of(entry: Entry) -> str:
    """The entry's chain: its own, else its target's `audit_chain`, else the registry chain."""
    if entry.chain:
        return entry.chain
    if entry.target is None:
        return REGISTRY_CHAIN
    chain: str = getattr(entry.target, "audit_chain", REGISTRY_CHAIN)
    return chain


def _row_of(entry: Entry) -> Row:
    target = entry.target
    return Row(
        chain=_chain_of(entry),  # now: a target's chain may change later (a session's person)
        action=entry.action,
        object_type=target._meta.label_lower if target is not None else "",
        object_id=str(target.pk) if target is not None else "",
        data=entry.data or {},
    )


def audit_record_many(*, actor: str, entries: list[Entry]) -> list[AuditEvent]:
    """Append many events at once, inside the caller's transaction (bulk deletions and confirmations).

    Chain heads are locked in chain order, so concurrent bulk writers cannot
    deadlock; events keep their order within each chain. Inside `audit_batch`, the
    events are written at the batch's end (their seq and hash are set then).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record_many must run inside the transaction of the change it records.")
    rows = [_row_of(entry) for entry in entries]
    events = [_event(actor, row) for row in rows]
    pending = _pending.get()
    if pending is not None:
        _defer(pending, actor, rows, events)
    else:
        _fill(events, _append(actor, rows))
    return events


def audit_record_rows(*, actor: str, rows: list[Row]) -> int:
    """Append events given as rows, inside the caller's transaction; returns how many.

    The same events, chains and hashes as audit_record_many, without a model instance per
    event, for changes with many (a batch of confirmations; a mass deletion writes one in each
    of 100,000 people's chains).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record_rows must run inside the transaction of the change it records.")
    pending = _pending.get()
    if pending is not None:
        _defer(pending, actor, rows, None)
    else:
        _append(actor, rows)
    return len(rows)


@dataclass(frozen=True)
class _Link:
    """Where a written event sits: its id, its place in its chain, and when it was written."""

    pk: int
    seq: int
    prev_hash: str
    hash: str
    at: Any


def _event(actor: str, row: Row) -> AuditEvent:
    return AuditEvent(
        chain=row.chain,
        actor=actor,
        action=row.action,
        object_type=row.object_type,
        object_id=row.object_id,
        data=row.data or {},
    )


def _fill(events: list[AuditEvent], links: list[_Link]) -> None:
    """Complete events built before they were written with what writing them gave."""
    for event, link in zip(events, links, strict=True):
        event.pk, event.seq, event.at, event.prev_hash, event.hash = (
            link.pk,
            link.seq,
            link.at,
            link.prev_hash,
            link.hash,
        )
        event._state.adding, event._state.db = False, connection.alias


def _append(actor: str, rows: list[Row]) -> list[_Link]:
    """Write the rows' events, each after its chain's head, and move the heads; where each was written."""
    if not rows:
        return []
    # No savepoint: an event that cannot be written must undo the change it records, so a failure here
    # fails the caller's whole transaction (and saves two round trips per call).
    with transaction.atomic(savepoint=False):
        heads = _heads_locked(sorted({row.chain for row in rows}))
        at = timezone.now()
        links = []  # (seq, prev_hash, hash) of each row
        for row in rows:
            head = heads[row.chain]
            seq, prev = head.seq + 1, head.hash
            digest = event_hash(
                chain=row.chain,
                seq=seq,
                prev_hash=prev,
                at=at,
                actor=actor,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                data=row.data or {},
            )
            links.append((seq, prev, digest))
            head.seq, head.hash = seq, digest
        if connection.vendor == "postgresql":
            ids = _insert_set(actor, at, rows, links, list(heads.values()))
        else:  # SQLite: one instance per event
            events = [_event(actor, row) for row in rows]
            for event, (seq, prev, digest) in zip(events, links, strict=True):
                event.seq, event.at, event.prev_hash, event.hash = seq, at, prev, digest
            AuditEvent.objects.bulk_create(events)
            AuditChainHead.objects.bulk_update(list(heads.values()), ["seq", "hash"])
            ids = [event.pk for event in events]
    return [_Link(pk, seq, prev, digest, at) for pk, (seq, prev, digest) in zip(ids, links, strict=True)]


def _insert_set(
    actor: str, at: Any, rows: list[Row], links: list[tuple[int, str, str]], heads: list[AuditChainHead]
) -> list[int]:
    """The events and their chains' new heads in one statement, each column sent as one array (PostgreSQL).

    Returns the events' ids in the rows' order (matched by chain and sequence, which are unique).
    """
    quote = connection.ops.quote_name
    event_table, head_table = quote(AuditEvent._meta.db_table), quote(AuditChainHead._meta.db_table)
    sql = (
        f"WITH heads AS (UPDATE {head_table} AS h SET seq = v.seq, hash = v.hash "  # noqa: S608 (our table names)
        "FROM unnest(%b::varchar[], %b::bigint[], %b::varchar[]) AS v(chain, seq, hash) WHERE h.chain = v.chain) "
        f"INSERT INTO {event_table} (chain, seq, at, actor, action, object_type, object_id, data, prev_hash, hash) "
        "SELECT e.chain, e.seq, %s::timestamptz, %s::varchar, e.action, e.object_type, e.object_id, e.data::jsonb, "
        "e.prev_hash, e.hash FROM unnest(%b::varchar[], %b::bigint[], %b::varchar[], %b::varchar[], %b::varchar[], "
        "%b::text[], %b::varchar[], %b::varchar[]) AS e(chain, seq, action, object_type, object_id, data, prev_hash, hash) "
        "RETURNING id, chain, seq"
    )
    params = [
        [head.chain for head in heads],
        [head.seq for head in heads],
        [head.hash for head in heads],
        at,
        actor,
        [row.chain for row in rows],
        [seq for seq, _prev, _hash in links],
        [row.action for row in rows],
        [row.object_type for row in rows],
        [row.object_id for row in rows],
        [_json(row.data or {}) for row in rows],
        [prev for _seq, prev, _hash in links],
        [digest for _seq, _prev, digest in links],
    ]
    with column_cursor() as cursor:
        cursor.execute(sql, params)
        ids = {(chain, seq): pk for pk, chain, seq in cursor.fetchall()}
    return [ids[(row.chain, seq)] for row, (seq, _prev, _hash) in zip(rows, links, strict=True)]


def _json(data: dict) -> str:
    """The data as the JSON text stored (jsonb keeps the value, not the text: the hash is over the value)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


# --- Batches: one write for the events of one change ---------------------------------------------


class _Marker:
    """A no-op on-commit callback. Django drops the callbacks registered inside a savepoint it rolls back,
    so a marker still registered at the batch's end means the change its event records still stands."""

    def __call__(self) -> None:
        pass


@dataclass(frozen=True)
class _Pending:
    actor: str
    row: Row
    event: AuditEvent | None  # the object returned to the caller (audit_record_many), completed when written
    marker: _Marker  # one per call: its rows stand or fall together


_pending: ContextVar[list[_Pending] | None] = ContextVar("facerights_audit_pending", default=None)


@contextmanager
def audit_batch() -> Iterator[None]:
    """Write the events recorded inside the block (audit_record, audit_record_many, audit_record_rows) together
    at its end.

    For a change made of several service calls, each writing its own events (a consent at a
    device: the person, their consent, the session), this is one upsert of the chain heads and one
    statement for the events and the heads' moves, instead of statements for each event. It changes nothing else: each
    event goes to the same chain, in the same order, inside the same transaction (the block must
    run inside it, and the events are written before it commits: one that cannot be written fails
    the whole change). An event recorded inside a savepoint that was rolled back (an error caught
    inside the block) is dropped with the change it recorded. Nothing is written when the block
    raises. A batch inside a batch joins the outer one.
    """
    if _pending.get() is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("audit_batch must run inside the transaction of the change it records.")
    blocks = list(connection.atomic_blocks)
    pending: list[_Pending] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    if connection.atomic_blocks[: len(blocks)] != blocks or len(connection.atomic_blocks) < len(blocks):
        raise RuntimeError("audit_batch outlived the transaction it was opened in: its events were not written.")
    markers = {id(p.marker) for p in pending}
    registered = {id(callback[1]) for callback in connection.run_on_commit}  # (savepoints, callback, robust)
    connection.run_on_commit = [c for c in connection.run_on_commit if id(c[1]) not in markers]
    standing = [p for p in pending if id(p.marker) in registered]
    for actor, run in groupby(standing, key=lambda p: p.actor):  # consecutive runs: the order is kept
        items = list(run)
        links = _append(actor, [p.row for p in items])
        waiting = [(item.event, link) for item, link in zip(items, links, strict=True) if item.event is not None]
        _fill([event for event, _link in waiting], [link for _event, link in waiting])


def _defer(pending: list[_Pending], actor: str, rows: list[Row], events: list[AuditEvent] | None) -> None:
    if not rows:
        return
    marker = _Marker()
    transaction.on_commit(marker)
    for n, row in enumerate(rows):
        pending.append(_Pending(actor, row, events[n] if events is not None else None, marker))


def _heads_locked(chains: list[str]) -> dict[str, AuditChainHead]:
    """The heads of these chains, created where new, each locked until the transaction ends.

    One statement: an upsert whose "update" leaves an existing head as it is takes the row's lock,
    as SELECT ... FOR UPDATE would, and returns it. Rows are taken in chain order (ORDER BY), so
    concurrent writers cannot deadlock. The chains go as one array parameter, not one value each.
    """
    if connection.vendor != "postgresql":  # SQLite locks the whole database; RETURNING needs 3.35 or later there
        AuditChainHead.objects.bulk_create([AuditChainHead(chain=c) for c in chains], ignore_conflicts=True)
        return {head.chain: head for head in AuditChainHead.objects.filter(chain__in=chains).order_by("chain")}
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    sql = (
        f"INSERT INTO {table} (chain, seq, hash) "  # noqa: S608 (the name comes from the model)
        "SELECT c, 0, %s::varchar FROM unnest(%b::varchar[]) AS c ORDER BY c "
        "ON CONFLICT (chain) DO UPDATE SET chain = EXCLUDED.chain RETURNING chain, seq, hash"
    )
    with column_cursor() as cursor:
        cursor.execute(sql, [GENESIS_HASH, chains])
        return {row[0]: AuditChainHead(chain=row[0], seq=row[1], hash=row[2]) for row in cursor.fetchall()}


@dataclass(frozen=True)
class ChainBreak:
    chain: str
    seq: int
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event id {self.event_id}" if self.event_id is not None else "chain head"
        return f"chain {self.chain!r}, sequence {self.seq}, {where}: {self.reason}"


def _verify_rows(chain: str, rows: Iterator[AuditEvent], head: AuditChainHead | None) -> ChainBreak | None:
    expected_seq, prev = 1, GENESIS_HASH
    for row in rows:
        if row.seq != expected_seq:
            return ChainBreak(
                chain, row.seq, row.pk, f"expected sequence {expected_seq}: a row was deleted or inserted"
            )
        if row.prev_hash != prev:
            return ChainBreak(
                chain, row.seq, row.pk, "does not follow the row before it: rows were reordered or replaced"
            )
        recomputed = event_hash(
            chain=row.chain,
            seq=row.seq,
            prev_hash=row.prev_hash,
            at=row.at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            data=row.data,
        )
        if recomputed != row.hash:
            return ChainBreak(chain, row.seq, row.pk, "its content does not match its hash: the row was edited")
        expected_seq, prev = expected_seq + 1, row.hash
    last_seq = expected_seq - 1
    if head is None:
        return ChainBreak(chain, last_seq, None, "the chain has no head row")
    if head.seq != last_seq or head.hash != prev:
        return ChainBreak(
            chain,
            head.seq,
            None,
            f"the head records sequence {head.seq} but the chain ends at {last_seq}: rows were deleted or added",
        )
    return None


def audit_chain_verify(chains: list[str] | None = None) -> list[ChainBreak]:
    """Check every chain (or the ones named); return the first break of each broken chain (empty when all hold)."""
    heads = {head.chain: head for head in AuditChainHead.objects.all()}
    if chains is None:
        chains = list(set(heads) | set(AuditEvent.objects.values_list("chain", flat=True).distinct()))
    breaks = []
    for chain in sorted(chains):
        rows = AuditEvent.objects.filter(chain=chain).order_by("seq", "pk").iterator(chunk_size=2000)
        found = _verify_rows(chain, rows, heads.get(chain))
        if found:
            breaks.append(found)
    return breaks


# --- Anchors: a chain's head handed to someone outside the database ------------------------------


def audit_anchor(chain: str = REGISTRY_CHAIN) -> str:
    """The chain's head as one string ("registry:412:<sha-256>") for a regulator to keep."""
    head = AuditChainHead.objects.filter(chain=chain).first()
    seq, digest = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    return f"{chain}:{seq}:{digest}"


def audit_anchor_holds(anchor: str) -> bool | None:
    """Whether the log still contains the row an anchor named, unchanged, in an intact chain (None: not an anchor)."""
    chain, _sep, rest = anchor.strip().lower().partition(":")
    seq, _sep, digest = rest.partition(":")
    if not (chain and seq.isdigit() and len(digest) == 64):
        return None
    if int(seq) == 0:
        return digest == GENESIS_HASH
    row = AuditEvent.objects.filter(chain=chain, seq=int(seq)).first()
    return row is not None and row.hash == digest and not audit_chain_verify([chain])
