"""CSV exports of the evidence for a date range, for the DPO and auditors (built in the background).

Rows carry ids, codes with their labels in Chinese and English, times in Beijing time and
fingerprints; never a data subject's name, phone number or email (people appear by their
pseudonymous id; staff by name and role, as in the admin).
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
from facerights.present import BEIJING, actor_text, field_label
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


def _time(moment: dt.datetime | None) -> str:
    """ISO 8601 in Beijing time (+08:00), as every date a reader sees."""
    return moment.astimezone(BEIJING).isoformat() if moment else ""


def _coded(name: str, spec: str):
    """A coded column: the code (for joining), then its label in Chinese and in English."""
    header = [name, f"{name}_zh", f"{name}_en"]

    def cells(code: str) -> list[str]:
        return [code, field_label(spec, code, "zh"), field_label(spec, code, "en")] if code else ["", "", ""]

    return header, cells


# The Chinese name of each column, for an export asked for in Chinese (the codes stay the English headers).
HEADERS_ZH = {
    "reference": "编号",
    "type": "类型",
    "state": "状态",
    "person": "个人（假名编号）",
    "received_at": "收到时间",
    "due_on": "截止日期",
    "closed_at": "办结时间",
    "refusal_reason": "拒绝理由",
    "id": "编号",
    "system": "处理系统",
    "purpose": "目的",
    "notice_version": "告知书版本",
    "method": "同意方式",
    "given_at": "同意时间",
    "withdrawn_at": "撤回时间",
    "channel": "渠道",
    "deletion": "删除申请",
    "action": "指令",
    "attempts": "尝试次数",
    "created_at": "创建时间",
    "deadline": "确认期限",
    "confirmed_at": "确认时间",
    "escalated_at": "升级时间",
    "evidence_sha256": "证据指纹（SHA-256）",
    "chain": "链",
    "seq": "序号",
    "at": "时间",
    "actor": "操作者",
    "object_type": "对象类型",
    "object_id": "对象编号",
    "prev_hash": "前一条哈希",
    "hash": "哈希",
}


# In the audit log, "action" is what was done, not an instruction's action.
HEADERS_ZH_BY_KIND: dict[str, dict[str, str]] = {EvidenceExport.Kind.AUDIT: {"action": "操作"}}


def _headers(row: list[str], export: EvidenceExport) -> list[str]:
    """The header row in the export's language: the codes in English, their Chinese names in Chinese."""
    if not export.language.startswith("zh"):
        return row
    names = {**HEADERS_ZH, **HEADERS_ZH_BY_KIND.get(export.kind, {})}
    named = []
    for code in row:
        base, suffix = (code[:-3], code[-2:]) if code.endswith(("_zh", "_en")) else (code, "")
        text = names.get(base, base)
        named.append(f"{text}（{'中文' if suffix == 'zh' else '英文'}）" if suffix else text)
    return named


def _rows(export: EvidenceExport):
    start, end = _range(export)
    if export.kind == EvidenceExport.Kind.REQUESTS:
        type_h, type_ = _coded("type", "dataops.Request.type")
        state_h, state = _coded("state", "dataops.Request.state")
        refusal_h, refusal = _coded("refusal_reason", "dataops.Request.refusal_reason_code")
        yield ["reference", *type_h, *state_h, "person", "received_at", "due_on", "closed_at", *refusal_h]
        for r in (
            Request.objects.filter(received_at__gte=start, received_at__lt=end).select_related("subject").iterator(2000)
        ):
            yield [
                r.reference,
                *type_(r.type),
                *state(r.state),
                r.subject.uuid,
                _time(r.received_at),
                r.due_on,
                _time(r.closed_at),
                *refusal(r.refusal_reason_code),
            ]
    elif export.kind == EvidenceExport.Kind.CONSENTS:
        method_h, method = _coded("method", "consent.ConsentRecord.method")
        state_h, state = _coded("state", "consent.ConsentRecord.state")
        channel_h, channel = _coded("channel", "consent.ConsentRecord.channel")
        yield [
            *("id", "person", "system", "purpose", "notice_version", *method_h, *state_h),
            *("given_at", "withdrawn_at", *channel_h),
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
                *method(c.method),
                *state(c.state),
                _time(c.given_at),
                _time(c.withdrawn_at),
                *channel(c.channel),
            ]
    elif export.kind == EvidenceExport.Kind.PROPAGATIONS:
        action_h, action = _coded("action", "dataops.DeletionRequest.action")
        state_h, state = _coded("state", "dataops.Propagation.state")
        yield [
            "deletion",
            *action_h,
            "system",
            *state_h,
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
                *action(p.deletion_request.action),
                p.system_id,
                *state(p.state),
                p.attempts,
                _time(p.created_at),
                p.deadline,
                _time(p.confirmed_at),
                _time(p.escalated_at),
                p.evidence_sha256,
            ]
    else:
        yield [
            "chain",
            "seq",
            "at",
            "actor",
            "actor_zh",
            "actor_en",
            "action",
            "object_type",
            "object_id",
            "prev_hash",
            "hash",
        ]
        names: dict[str, tuple[str, str]] = {}  # one lookup per actor, not per row
        for e in AuditEvent.objects.filter(at__gte=start, at__lt=end).order_by("chain", "seq").iterator(5000):
            if e.actor not in names:
                names[e.actor] = (actor_text(e.actor, "zh"), actor_text(e.actor, "en"))
            yield [
                *(e.chain, e.seq, _time(e.at), e.actor, *names[e.actor]),
                *(e.action, e.object_type, e.object_id, e.prev_hash, e.hash),
            ]


def record_export_request(
    *, actor: str, user, kind: str, date_from: dt.date, date_to: dt.date, language: str = "en"
) -> EvidenceExport:
    """Queue a record export; its column headers are in `language` (the codes themselves for English)."""
    with transaction.atomic():
        export = EvidenceExport.objects.create(
            kind=kind, date_from=date_from, date_to=date_to, requested_by=user, language=language[:8]
        )
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
        writer.writerow(_headers(row, export) if count == -1 else row)
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
