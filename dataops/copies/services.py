"""A copy of a person's data (PIPL Art 45): JSON for machines, a PDF for people, in one ZIP.

It holds what FaceRights keeps about the person: their identifiers, where
their face is held and why, their consents and their history, their requests
and deletions with the evidence fingerprints. It never holds a face image or
template: the portal has none (Measures Art 8; docs/legal-readings.md).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from consent.models import ConsentRecord, DataSubject
from consent.receipt_links import receipt_phone
from consent.services import subject_identifiers, subject_name
from consent.written import signed_consent_text
from facerights import crypto
from facerights.audit import Entry, audit_record, audit_record_many
from facerights.pdf import html_to_pdf
from facerights.present import field_choices, field_label
from facerights.queues import enqueue_on_commit

from ..deletions.models import DeletionRequest
from ..registry.models import Holding
from ..requests.models import Request
from ..requests.services import request_complete, request_submit
from .models import DataExport

if TYPE_CHECKING:
    from facerights.models import User

DOWNLOAD_LIFETIME = dt.timedelta(hours=24)
README = gettext_lazy(
    "facerights-data.pdf: everything FaceRights holds about you, to read.\n"
    "facerights-data.json: the same for machines; you may give it to another company (PIPL Art 45).\n"
    "facerights-data.schema.json: how the JSON is built (JSON Schema 2020-12).\n"
    "No face image or template is included: FaceRights keeps none. Times are Beijing time."
)
# The copy's JSON follows this schema (PIPL Art 45: one the person can hand to another handler).
SCHEMA_ID = "facerights-data/1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "facerights-data-1.schema.json"


class ExportUnavailable(Exception):
    pass


def export_aad(export: DataExport) -> bytes:
    return f"facerights:export:{export.pk}:{export.requested_by_id}".encode()


def export_request(*, actor: str, user: User, subject: DataSubject, language: str) -> DataExport:
    """Open a copy request and queue the build (after commit)."""
    with transaction.atomic():
        request = request_submit(actor=actor, subject=subject, type=Request.Type.COPY)
        export = DataExport.objects.create(subject=subject, requested_by=user, request=request, language=language)
        audit_record(actor=actor, action="export.requested", target=export)
        enqueue_on_commit("copies.build", export.pk)
    return export


def _iso(value: dt.datetime | None) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def export_data(subject: DataSubject) -> dict[str, Any]:
    """Everything FaceRights holds about the subject, as plain data."""
    holdings = Holding.objects.filter(subject=subject).select_related("system__site", "system__entity").order_by("pk")
    consents = (
        ConsentRecord.objects.filter(subject=subject)
        .select_related("system", "purpose", "notice")
        .prefetch_related("events")
    )
    return {
        "schema": SCHEMA_ID,
        "generated_at": _iso(timezone.now()),
        "subject": {
            "id": str(subject.uuid),
            "name": subject_name(subject),
            "date_of_birth": subject.date_of_birth.isoformat() if subject.date_of_birth else "",
            "identifiers": [{"kind": kind, "value": value} for kind, value in subject_identifiers(subject)],
        },
        "holdings": [
            {
                "system": h.system.name_zh,
                "system_en": h.system.name_en,
                "handler": h.system.entity.name_zh,
                "site": h.system.site.name_zh if h.system.site else "",
                "kind_of_data": h.data_kind,
                "stored": h.system.storage_location,
                "system_key": h.subject_key,
                "enrolled_at": _iso(h.enrolled_at),
                "retained_until": h.retention_until.isoformat(),
                "status": h.status,
            }
            for h in holdings
        ],
        "consents": [
            {
                "system": c.system.name_zh,
                "purpose": c.purpose.code,
                "purpose_name": c.purpose.name_zh,
                "purpose_name_en": c.purpose.name_en,
                "notice_version": c.notice.version,
                "notice_sha256": c.notice.digest,
                "method": c.method,
                "state": c.state,
                "given_at": _iso(c.given_at),
                "withdrawn_at": _iso(c.withdrawn_at),
                "channel": c.channel,
                "events": [{"kind": e.kind, "at": _iso(e.at), "channel": e.channel} for e in c.events.all()],
                "receipt_phone": receipt_phone(c) or "",
                "signed_record": signed_consent_text(c) or "",
            }
            for c in consents
        ],
        "requests": [
            {
                "reference": r.reference,
                "type": r.type,
                "state": r.state,
                "received_at": _iso(r.received_at),
                "due_on": r.due_on.isoformat(),
                "due": {
                    "on": r.due_on.isoformat(),
                    "earliest": r.due_earliest.isoformat(),
                    "provisional": r.due_on_provisional,
                },
                "closed_at": _iso(r.closed_at),
                "refusal": r.refusal_text,
            }
            for r in Request.objects.filter(subject=subject).order_by("received_at")
        ],
        "deletions": [
            {
                "reference": d.reference,
                "action": d.action,
                "trigger": d.trigger,
                "state": d.state,
                "opened_at": _iso(d.created_at),
                "completed_at": _iso(d.completed_at),
                "systems": [
                    {
                        "system": p.system.name_zh,
                        "state": p.state,
                        "confirmed_at": _iso(p.confirmed_at),
                        "evidence_sha256": p.evidence_sha256,
                    }
                    for p in d.propagations.select_related("system").order_by("pk")
                ],
            }
            for d in DeletionRequest.objects.filter(subject=subject).order_by("created_at")
        ],
    }


# The stored codes in a copy and the model fields whose labels they are: the JSON carries this legend
# (each code in both languages), the PDF shows the labels themselves.
CODES = {
    "subject.identifiers.kind": "consent.SubjectIdentifier.kind",
    "holdings.kind_of_data": "dataops.Holding.data_kind",
    "holdings.stored": "dataops.ProcessingSystem.storage_location",
    "holdings.status": "dataops.Holding.status",
    "consents.method": "consent.ConsentRecord.method",
    "consents.state": "consent.ConsentRecord.state",
    "consents.channel": "consent.ConsentRecord.channel",
    "consents.events.kind": "consent.ConsentEvent.kind",
    "consents.events.channel": "consent.ConsentRecord.channel",
    "requests.type": "dataops.Request.type",
    "requests.state": "dataops.Request.state",
    "deletions.action": "dataops.DeletionRequest.action",
    "deletions.trigger": "dataops.DeletionRequest.trigger",
    "deletions.state": "dataops.DeletionRequest.state",
    "deletions.systems.state": "dataops.Propagation.state",
}


def export_legend() -> dict[str, dict[str, dict[str, str]]]:
    """What each code in the copy means, in Chinese and English."""
    return {
        path: {
            code: {"zh": field_label(spec, code, "zh"), "en": field_label(spec, code, "en")}
            for code, _label in field_choices(spec)
        }
        for path, spec in CODES.items()
    }


def _progress(export: DataExport, percent: int, state: str = DataExport.State.BUILDING) -> None:
    DataExport.objects.filter(pk=export.pk).update(progress=percent, state=state)


def export_build(*, export_id: int) -> DataExport | None:
    """Build the ZIP, encrypt it, and make it downloadable for a day (safe to run twice)."""
    export = DataExport.objects.select_related("subject", "request").filter(pk=export_id).first()
    if export is None or export.state in (DataExport.State.READY, DataExport.State.EXPIRED):
        return export
    _progress(export, 10)
    data = export_data(export.subject) | {"legend": export_legend()}
    _progress(export, 40)
    with translation.override(export.language):
        html = render_to_string("dataops/data_copy.html", {"data": data, "chinese": export.language.startswith("zh")})
    pdf = html_to_pdf(html)
    _progress(export, 80)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("facerights-data.json", json.dumps(data, ensure_ascii=False, indent=2))
        archive.writestr("facerights-data.schema.json", SCHEMA_PATH.read_text())
        archive.writestr("facerights-data.pdf", pdf)
        with translation.override(export.language):
            archive.writestr("README.txt", str(README) + "\n")
    content = buffer.getvalue()
    with transaction.atomic():
        export = DataExport.objects.select_for_update().get(pk=export.pk)
        export.ciphertext = crypto.blob_encrypt(content, aad=export_aad(export))
        export.sha256 = hashlib.sha256(content).hexdigest()
        export.size = len(content)
        export.state = DataExport.State.READY
        export.progress = 100
        export.expires_at = timezone.now() + DOWNLOAD_LIFETIME
        export.save(update_fields=["ciphertext", "sha256", "size", "state", "progress", "expires_at"])
        audit_record(actor="task:export", action="export.ready", target=export, data={"sha256": export.sha256})
        request_complete(actor="task:export", request=export.request)
    return export


def export_download(*, export: DataExport, user: User) -> bytes:
    """The ZIP, for the account that asked for it, until it expires."""
    if export.requested_by_id != user.pk:
        raise ExportUnavailable("not yours")
    if export.state != DataExport.State.READY or export.expires_at is None or export.expires_at <= timezone.now():
        raise ExportUnavailable("not ready or expired")
    with transaction.atomic():
        audit_record(actor=f"user:{user.pk}", action="export.downloaded", target=export)
    ciphertext = cast(bytes, export.ciphertext)  # a ready export holds its copy
    return crypto.blob_decrypt(ciphertext, aad=export_aad(export))


def exports_expire(*, actor: str, now: dt.datetime | None = None) -> int:
    """Destroy copies past their download window, each with its audit event (housekeeping)."""
    now = now or timezone.now()
    with transaction.atomic():
        expired = list(
            DataExport.objects.select_for_update()
            .filter(state=DataExport.State.READY, expires_at__lte=now)
            .only("pk", "subject_id")
            .order_by("pk")
        )
        if not expired:
            return 0
        DataExport.objects.filter(pk__in=[e.pk for e in expired]).update(
            state=DataExport.State.EXPIRED, ciphertext=None
        )
        audit_record_many(actor=actor, entries=[Entry(action="export.expired", target=e) for e in expired])
    return len(expired)
