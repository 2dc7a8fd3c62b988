"""The consent receipt: what the person keeps of a consent, after ISO/IEC TS 27560:2023.

ISO/IEC TS 27560:2023 (Privacy technologies: consent record information structure) lists the
fields of a consent record and of the receipt given to the person (clause 6.3), but publishes no
machine-readable schema. Ours, `schemas/consent-receipt-1.schema.json`, is written from that field
list as the W3C Data Privacy Vocabularies and Controls Community Group's guide "Consent Records and
Receipts as per ISO/IEC TS 27560:2023 using DPV" (2024-08-01) sets it out; docs/consent-receipts.md
maps each field to the standard and says where we fill it from.

A receipt states only what the registry and the ledger know. Where a fact is unknown (whether a
system sends faces abroad, before the DPO has answered) the receipt says "unknown", never a
comforting default. The same consent in the same state, with the same registry facts and in the
same language, always gives the same receipt, byte for byte (nothing in it is the time of download): its SHA-256 covers everything but the `proof` member, and the deployment signs that
fingerprint (facerights/signing.py) so the person can show who issued it at /verify/.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from facerights import signing
from facerights.audit import audit_record
from facerights.pdf import html_to_pdf
from facerights.present import field_label

from .models import ConsentEvent, ConsentRecord, DataSubject
from .receipt_links import receipt_link_url

SCHEMA_ID = "facerights-consent-receipt/1"
SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "consent-receipt-1.schema.json"
STANDARD = "ISO/IEC TS 27560:2023"
# Receipt ids are derived from the consent, so a receipt downloaded twice carries the same id.
_NAMESPACE = uuid.UUID("6f3b1f8e-5a51-4d8e-9d43-27560f0c0a11")

# How each ledger event reads as a 27560 event state (DPV's consent statuses).
EVENT_STATES: dict[str, str] = {
    ConsentEvent.Kind.GIVEN: "given",
    ConsentEvent.Kind.WITHDRAWN: "withdrawn",
    ConsentEvent.Kind.RECONSENT_REQUIRED: "renewal_required",
    ConsentEvent.Kind.SUPERSEDED: "superseded",
}
_EVENT_KINDS = {state: kind for kind, state in EVENT_STATES.items()}
KEPT = {"face_template": _("face template"), "face_image": _("face image")}
EVENT_TYPES: dict[str, str] = {
    ConsentRecord.Method.SEPARATE: "separate_consent",
    ConsentRecord.Method.WRITTEN: "written_consent",
    ConsentRecord.Method.GUARDIAN: "guardian_consent",
}


def _iso(moment) -> str | None:
    return timezone.localtime(moment).isoformat() if moment else None


def receipt_id(record: ConsentRecord) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"consent:{record.pk}"))


def _url(name: str, *args: Any) -> str:
    return settings.FACERIGHTS_BASE_URL + reverse(name, args=args)


def _locations(system: Any) -> list[str] | None:
    """Where the faces are processed, as far as the registry knows: None while it does not."""
    if system.cross_border is None:
        return None
    return ["CN", "outside-CN"] if system.cross_border else ["CN"]


def consent_receipt(record: ConsentRecord, *, language: str = "zh-hans") -> dict[str, Any]:
    """The receipt of one consent in its current state, as a JSON-ready dict (with its proof).

    Its withdrawal method is the receipt's link (consent/receipt_links.py): it works without an
    account, by a code to the phone given for the receipt, and points a signed-in person to the portal.
    """
    record = (
        ConsentRecord.objects.select_related("subject", "guardian", "purpose", "notice", "system__entity")
        .prefetch_related("events")
        .get(pk=record.pk)
    )
    system, entity, notice = record.system, record.system.entity, record.notice
    lang = "en" if language.startswith("en") else "zh"
    text = cast("dict[str, dict[str, str]]", notice.snapshot or {}).get(lang) or {}
    body: dict[str, Any] = {
        "schema_version": SCHEMA_ID,
        "conforms_to": STANDARD,
        "receipt_id": receipt_id(record),
        "record_id": f"consent:{record.pk}",
        "pii_principal_id": str(record.subject.uuid),
        "language": "en" if lang == "en" else "zh-Hans",
        "jurisdiction": "CN",
        "pii_controllers": [
            {
                "party_id": entity.credit_code,
                "party_name": (entity.name_en or entity.name_zh) if lang == "en" else entity.name_zh,
                "party_address": entity.operating_address or entity.registered_address,
                "party_contact": entity.dpo_name,
                "party_email": entity.dpo_email,
                "party_phone": entity.dpo_phone or None,
                "party_role": "controller",
            }
        ],
        "service": (system.name_en or system.name_zh) if lang == "en" else system.name_zh,
        "privacy_notice": {
            "version": notice.version,
            "published_at": _iso(notice.published_at),
            "sha256": notice.digest,
            "url": _url("portal:consent_notice", record.pk),
            "text": text,  # exactly as shown, so the receipt stands on its own
        },
        "purposes": [
            {
                "purpose": record.purpose.code,
                "purpose_description": text.get("purpose") or record.purpose.name_zh,
                "lawful_basis": (
                    "PIPL Art 31: consent of the parent or guardian of a child under 14"
                    if record.method == ConsentRecord.Method.GUARDIAN
                    else "PIPL Art 29: separate consent to sensitive personal information"
                ),
            }
        ],
        "pii_information": [
            {
                "pii_type": "facial_information",
                "pii_attributes": [
                    kind
                    for kind, kept in (("face_template", system.keeps_template), ("face_image", system.keeps_image))
                    if kept
                ],
                "sensitive_pii_category": "biometric (PIPL Art 28)",
                "pii_optional": bool(system.alternatives),  # a non-face alternative is registered (Measures Art 10)
            }
        ],
        "collection_method": record.channel,
        "processing_method": text.get("method") or "",
        "storage_locations": [system.storage_location],
        "processing_locations": _locations(system),
        "retention_period": {"days": system.retention_days, "description": text.get("retention") or ""},
        "recipient_third_parties": _third_parties(system),
        "withdrawal_method": {
            "url": receipt_link_url(record),
            "description": text.get("rights") or "",
        },
        "privacy_rights": _url("portal:home"),
        "events": [_event(record, event) for event in sorted(record.events.all(), key=lambda e: (e.at, e.pk))],
        "state": record.state,
        "signed_record_sha256": record.artifact_sha256 or None,  # a written consent's signed record (R4)
    }
    digest = receipt_fingerprint(body)
    return {
        **body,
        "proof": {
            "sha256": digest,
            "signature": signing.sign("consent_receipt", digest),
            "verify_url": signing.verify_url(),
        },
    }


def _third_parties(system: Any) -> list[dict[str, str]] | None:
    """The processor or recipient the registry names; None (unknown) for one whose name is not recorded yet."""
    if system.kind not in ("processor", "recipient"):
        return []
    name = (system.counterparty_name or "").strip()
    return [{"party_name": name, "party_role": system.kind}] if name else None


def _event(record: ConsentRecord, event: ConsentEvent) -> dict[str, Any]:
    """One event, credited to whoever did it: the person (or guardian) gives and withdraws; the company asks
    for renewal and replaces (when its notice or the system changes)."""
    by_person = event.kind in (ConsentEvent.Kind.GIVEN, ConsentEvent.Kind.WITHDRAWN)
    person = record.guardian if record.guardian else record.subject
    return {
        "event_time": _iso(event.at),
        "event_type": EVENT_TYPES[record.method],
        "event_state": EVENT_STATES.get(event.kind, event.kind),
        "entity_id": str(person.uuid) if by_person else record.system.entity.credit_code,
        "entity_role": ("guardian" if record.guardian else "pii_principal") if by_person else "controller",
        "validity_duration": "until withdrawn",
        "channel": event.channel or None,
    }


def receipt_fingerprint(receipt: dict[str, Any]) -> str:
    """SHA-256 of the receipt without its proof, in canonical JSON (sorted keys, no spaces, UTF-8)."""
    body = {key: value for key, value in receipt.items() if key != "proof"}
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def receipt_json(receipt: dict[str, Any]) -> bytes:
    return json.dumps(receipt, ensure_ascii=False, indent=2, sort_keys=True).encode()


def receipt_pdf(receipt: dict[str, Any], *, signed_text: str | None = None) -> bytes:
    """The same receipt, printable: every field in words, the fingerprint and signature at the foot, and a written
    consent's signed record in full (`signed_text`, consent/written.py)."""
    language = "en" if receipt["language"] == "en" else "zh-hans"
    with translation.override(language):
        labels = {
            "state": field_label("consent.ConsentRecord.state", receipt["state"]),
            "channel": field_label("consent.ConsentRecord.channel", receipt["collection_method"]),
            "storage": [
                field_label("dataops.ProcessingSystem.storage_location", where)
                for where in receipt["storage_locations"]
            ],
            "kept": [KEPT[kind] for kind in receipt["pii_information"][0]["pii_attributes"]],
            "events": [
                (event["event_time"], field_label("consent.ConsentEvent.kind", _EVENT_KINDS[event["event_state"]]))
                for event in receipt["events"]
            ],
        }
        html = render_to_string(
            "consent/receipt.html",
            {"receipt": receipt, "labels": labels, "chinese": language == "zh-hans", "signed_text": signed_text},
        )
    return html_to_pdf(html)


def receipt_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text())


EXPORT_LIMIT = 5000  # people in one export: a regulator's question is answered in parts beyond that


def consent_receipts_export(*, actor: str, subjects: Iterable[DataSubject]) -> bytes:
    """Every consent receipt of these people, in one JSON document, for a regulator or an audit (audited)."""
    people = list(subjects)
    records = ConsentRecord.objects.filter(subject__in=people).order_by("subject_id", "given_at", "pk")
    receipts = [consent_receipt(record) for record in records]
    document = {
        "schema_version": "facerights-consent-receipts/1",
        "receipt_schema": SCHEMA_ID,
        "conforms_to": STANDARD,
        "exported_at": _iso(timezone.now()),
        "people": len(people),
        "receipts": receipts,
    }
    content = receipt_json(document)
    with transaction.atomic():
        for subject in people:
            audit_record(
                actor=actor,
                action="consent.receipts_exported",
                target=subject,
                data={"sha256": hashlib.sha256(content).hexdigest()},
            )
    return content
