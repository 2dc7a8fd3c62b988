"""CSV exports of the evidence for a date range, for the DPO and auditors (built in the background).

Rows carry ids, codes, states, times and fingerprints; never a name, a phone
number or an email (people appear by their pseudonymous id).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from typing import cast

from django.db import transaction
from django.utils import timezone

from consent.models import ConsentRecord
from facerights import crypto
from facerights.audit import audit_record
from facerights.models import AuditEvent
from facerights.queues import enqueue_on_commit

from ..deletions.models import Propagation
from ..requests.models import Request
from .models import EvidenceExport


def export_aad(export: EvidenceExport) -> bytes:
    return f"facerights:evidence-export:{export.pk}".encode()


def _range(export: EvidenceExport) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(export.date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(export.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _rows(export: EvidenceExport):
    start, end = _range(export)
    if export.kind == EvidenceExport.Kind.REQUESTS:
        yield ["reference", "type", "state", "person", "received_at", "due_on", "closed_at", "refusal_reason_code"]
        for r in (
            Request.objects.filter(received_at__gte=start, received_at__lt=end).select_related("subject").iterator(2000)
        ):
            yield [
                r.reference,
                r.type,
                r.state,
                r.subject.uuid,
                r.received_at.isoformat(),
                r.due_on,
                r.closed_at or "",
                r.refusal_reason_code,
            ]
    elif export.kind == EvidenceExport.Kind.CONSENTS:
        yield [
            "id",
            "person",
            "system",
            "purpose",
            "notice_version",
            "method",
            "state",
            "given_at",
            "withdrawn_at",
            "channel",
        ]
        rows = ConsentRecord.objects.filter(given_at__gte=start, given_at__lt=end).select_related(
            "subject", "purpose", "notice"
        )
        for c in rows.iterator(2000):
            yield [
                c.pk,
                c.subject.uuid,
                c.system_id,
                c.purpose.code,
                c.notice.version,
                c.method,
                c.state,
                c.given_at.isoformat(),
                c.withdrawn_at or "",
                c.channel,
            ]
    elif export.kind == EvidenceExport.Kind.PROPAGATIONS:
        yield [
            "deletion",
            "system",
            "state",
            "attempts",
            "created_at",
            "deadline",
            "confirmed_at",
            "escalated_at",
            "evidence_sha256",
        ]
        propagations = Propagation.objects.filter(created_at__gte=start, created_at__lt=end).select_related(
            "deletion_request"
        )
        for p in propagations.iterator(2000):
            yield [
                p.deletion_request.reference,
                p.system_id,
                p.state,
                p.attempts,
                p.created_at.isoformat(),
                p.deadline,
                p.confirmed_at or "",
                p.escalated_at or "",
                p.evidence_sha256,
            ]
    else:
        yield ["chain", "seq", "at", "actor", "action", "object_type", "object_id", "prev_hash", "hash"]
        for e in AuditEvent.objects.filter(at__gte=start, at__lt=end).order_by("chain", "seq").iterator(5000):
            yield [e.chain, e.seq, e.at.isoformat(), e.actor, e.action, e.object_type, e.object_id, e.prev_hash, e.hash]


def record_export_request(*, actor: str, user, kind: str, date_from: dt.date, date_to: dt.date) -> EvidenceExport:
    with transaction.atomic():
        export = EvidenceExport.objects.create(kind=kind, date_from=date_from, date_to=date_to, requested_by=user)
        audit_record(actor=actor, action="evidence_export.requested", target=export, data={"kind": kind})
        enqueue_on_commit("workbench.records_export", export.pk)
    return export


def record_export_build(*, export_id: int) -> EvidenceExport | None:
    export = EvidenceExport.objects.filter(pk=export_id).first()
    if export is None or export.state == EvidenceExport.State.READY:
        return export
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    count = -1
    for row in _rows(export):
        writer.writerow(row)
        count += 1
    content = buffer.getvalue().encode("utf-8-sig")  # a BOM, so spreadsheet programs read the Chinese correctly
    with transaction.atomic():
        EvidenceExport.objects.filter(pk=export.pk).update(
            state=EvidenceExport.State.READY,
            rows=count,
            ciphertext=crypto.blob_encrypt(content, aad=export_aad(export)),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        audit_record(actor="task:evidence_export", action="evidence_export.ready", target=export, data={"rows": count})
    export.refresh_from_db()
    return export


def record_export_content(export: EvidenceExport) -> bytes:
    ciphertext = cast(bytes, export.ciphertext)  # a ready export holds its CSV
    return crypto.blob_decrypt(ciphertext, aad=export_aad(export))
