"""The snapshot a filing is built from: field groups A to K of REGULATION.md §3.3, frozen as plain data.

Its SHA-256 is printed on every page of every document; the daily change check
compares the registry with the last submitted snapshot."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import cast

from django.db.models import Max
from django.utils import timezone

from consent.models import ConsentRecord, Notice, Purpose
from facerights.due import Due
from facerights.present import actor_text, choices_text

from ..deletions.models import DeletionRequest, Propagation
from ..incidents.selectors import incidents_since
from ..registry.models import Alternative, Holding, ImpactAssessment, LegalEntity, ProcessingSystem
from ..registry.processing import processing_summary
from ..registry.provinces import province_name_zh
from ..registry.services import impact_assessment_kept_until
from .counting import STORED
from .models import Filing, FilingObligation


def fingerprint(data) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


# --- The snapshot (REGULATION.md §3.3, field groups A to K) ----------------------------------------


def _system_section(system: ProcessingSystem, today: dt.date) -> dict:
    persons = (
        Holding.objects.filter(system=system, status__in=STORED, subject__is_synthetic=False)
        .values("subject_id")
        .distinct()
        .count()
    )
    notice = system.notices.filter(status=Notice.Status.PUBLISHED).order_by("-version").first()
    minors = ConsentRecord.objects.filter(system=system, method=ConsentRecord.Method.GUARDIAN).exists()
    processing = processing_summary(system, until=today)
    signage = (
        [
            {"sha256": e.sha256, "taken_on": e.taken_on.isoformat(), "collection_area": e.collection_area}
            for e in system.site.signage_evidence.order_by("-taken_on", "-pk")[:3]
        ]
        if system.site and system.site.is_public_place
        else []
    )
    # Of the people held, how many gave their separate consent to internet transmission (a fact, not a claim).
    transmission_consented = (
        Holding.objects.filter(
            system=system,
            status__in=STORED,
            subject__is_synthetic=False,
            subject__consents__system=system,
            subject__consents__purpose__code=Purpose.TRANSMISSION,
            subject__consents__state=ConsentRecord.State.ACTIVE,
        )
        .values("subject_id")
        .distinct()
        .count()
        if system.internet_transmission
        else 0
    )
    return {
        "id": system.pk,
        "name_zh": system.name_zh,
        "name_en": system.name_en or system.name_zh,
        "kind": system.kind,
        # Sending over the internet is a consent type of its own, not a purpose: stated under transmission.
        "purposes": sorted(p.code for p in system.purposes.all() if p.code != Purpose.TRANSMISSION),
        "purposes_zh": sorted(p.name_zh for p in system.purposes.all() if p.code != Purpose.TRANSMISSION),
        "purposes_en": sorted(p.name_en for p in system.purposes.all() if p.code != Purpose.TRANSMISSION),
        "recognition": system.recognition,
        "recognition_mode": system.recognition_mode,  # "": not answered yet (blocks the review)
        "devices": [{"kind": d.kind, "count": d.count, "location": d.location} for d in system.devices.all()],
        "legal_basis": "written_consent" if system.requires_written_consent else "separate_consent",
        "face_only_method": not system.alternatives,
        "alternatives": sorted(system.alternatives),
        "alternatives_zh": choices_text(Alternative, sorted(system.alternatives), "zh"),
        "alternatives_en": choices_text(Alternative, sorted(system.alternatives), "en"),
        "national_identity_service": system.uses_national_identity_service,
        "site": system.site.name_zh if system.site else "",
        "site_address": system.site.address if system.site else "",
        "public_place": bool(system.site and system.site.is_public_place),
        # Signs are stated from their evidence (a photo or document with its date), never from a checkbox.
        "signage": bool(system.site and system.site.signage_present and signage),
        "signage_evidence": signage,
        "collection_area": system.site.collection_area if system.site else "",
        "private_space": bool(system.site and system.site.is_private_space),  # refused by the registry (R28)
        "storage_location": system.storage_location,
        "internet_transmission": system.internet_transmission,
        "transmission_consented": transmission_consented,
        "data_kinds": [k for k, kept in (("image", system.keeps_image), ("template", system.keeps_template)) if kept],
        "retention_days": system.retention_days,
        "retention_justification": system.retention_justification_zh,
        "processor": {
            "contract": system.contract_reference,
            "starts_on": system.contract_starts_on.isoformat() if system.contract_starts_on else "",
            "ends_on": system.contract_ends_on.isoformat() if system.contract_ends_on else "",
            "data_types": system.contract_data_types,
            "subprocessing_approved": system.subprocessing_approved,
            "contact": " ".join(
                part for part in (system.contact_name, system.contact_phone, system.contact_email) if part
            ),
            "counterparty": system.counterparty_name,
            "provision_purpose": system.provision_purpose,
        }
        if system.kind in (ProcessingSystem.Kind.PROCESSOR, ProcessingSystem.Kind.RECIPIENT)
        else None,
        "cross_border": system.cross_border,  # None: not answered yet (a filing cannot be reviewed)
        "minors_under_14": minors,
        "status": system.status,
        "notice_version": notice.version if notice else None,
        # A current notice is published, so it has its date.
        "notice_published": cast(dt.datetime, notice.published_at).date().isoformat() if notice else "",
        "notice_sha256": notice.digest if notice else "",
        "persons": persons,
        "recorded_processing": {
            "since": processing.since.isoformat(),
            "until": processing.until.isoformat(),
            "allowed": processing.allowed,
            "refused": processing.refused,
        },
    }


def registry_sections(entity: LegalEntity, today: dt.date) -> dict:
    """Field groups B and D to H: what the registry says about the entity today."""
    systems = (
        ProcessingSystem.objects.filter(entity=entity)
        .exclude(status=ProcessingSystem.Status.DRAFT)
        .prefetch_related("purposes", "devices")
        .select_related("site")
        .order_by("pk")
    )
    total = (
        Holding.objects.filter(system__entity=entity, status__in=STORED, subject__is_synthetic=False)
        .values("subject_id")
        .distinct()
        .count()
    )
    assessments = ImpactAssessment.objects.filter(entity=entity, state=ImpactAssessment.State.APPROVED).order_by("pk")
    group = entity.group if entity.group_id else None
    return {
        "B": {
            "name_zh": entity.name_zh,
            "name_en": entity.name_en,
            "credit_code": entity.credit_code,
            "registered_address": entity.registered_address,
            "province": entity.province,
            "operating_address": entity.operating_address or entity.registered_address,
            "legal_representative": entity.legal_representative,
            # The number itself stays encrypted in the registry: its kind, masked form and keyed digest here.
            "legal_rep_id_type": entity.legal_rep_id_type,
            "legal_rep_id_masked": entity.legal_rep_id_masked,
            "legal_rep_id_digest": entity.legal_rep_id_digest,
            "contact": f"{entity.dpo_name} {entity.dpo_phone} {entity.dpo_email}".strip(),
            "pipo": f"{entity.dpo_name} {entity.dpo_phone} {entity.dpo_email}".strip()
            if entity.pipo_designated
            else "",
            "group": group.name_zh if group is not None else "",
            "affiliates": sorted(e.credit_code for e in group.entities.exclude(pk=entity.pk))
            if group is not None
            else [],
            "industry": entity.industry,
        },
        "D": [_system_section(system, today) for system in systems],
        "E": {
            "total_persons": total,
            "counted_on": today.isoformat(),
            "method": "distinct natural persons with facial information stored in any system; completed deletions excluded",
        },
        "F": {
            "measures": entity.security_measures,
            "mlps_level": entity.mlps_level,
            "mlps_record_number": entity.mlps_record_number,
            "incident_plan_on": entity.incident_plan_on.isoformat() if entity.incident_plan_on else "",
            "training_last_on": entity.training_last_on.isoformat() if entity.training_last_on else "",
        },
        "G": {
            "notices": [
                {
                    "system": s.name_zh,
                    "version": n.version,
                    "published": cast(dt.datetime, n.published_at).date().isoformat(),  # published ones only
                    "sha256": n.digest,
                }
                for s in systems
                for n in s.notices.filter(status=Notice.Status.PUBLISHED).order_by("version")
            ],
            # The rules themselves, as people read them: each system's current notice, word for word.
            "rules": [
                {"system": s.name_zh, "version": n.version, "text": n.snapshot}
                for s in systems
                if (n := s.notices.filter(status=Notice.Status.PUBLISHED).order_by("-version").first()) is not None
            ],
            "procedures": entity.operating_procedures,
        },
        "H": [
            {
                "title": a.title,
                "approved_on": a.approved_at.date().isoformat() if a.approved_at else "",
                "reviewer": a.reviewer,
                "lawfulness": a.lawfulness,
                "impact": a.impact,
                "risks": a.risks,
                "measures": a.measures,
                "next_review_on": a.next_review_on.isoformat() if a.next_review_on else "",
                "systems": sorted(s.name_zh for s in a.systems.all()),
                # Kept while in use, then three years: no date until it is superseded or its processing ends.
                "keep_until": (
                    (deletable - dt.timedelta(days=1)).isoformat()
                    if (deletable := impact_assessment_kept_until(a))
                    else ""
                ),
            }
            for a in assessments
        ],
    }


def _due_data(due: Due) -> dict[str, object]:
    return {"on": due.on.isoformat(), "earliest": due.earliest.isoformat(), "provisional": due.provisional}


def filing_snapshot(filing: Filing, *, today: dt.date | None = None) -> dict:
    """Everything the documents show, as plain data; its fingerprint is printed on every page."""
    today = today or timezone.localdate()
    entity = filing.entity
    obligation = filing.obligation
    snapshot = {
        "as_of": today.isoformat(),
        "A": {
            "number": filing.number,
            "version": filing.version,
            "kind": filing.kind,
            "authority_province": entity.province,
            "authority_name": province_name_zh(entity.province),
            "triggered_on": obligation.triggered_on.isoformat() if obligation else "",
            "due": _due_data(obligation.due) if obligation else None,
        },
        **registry_sections(entity, today),
        "C": {
            "agent_name": filing.agent_name,
            "agent_phone": filing.agent_phone,
            "agent_email": filing.agent_email,
            "agent_id_type": filing.agent_id_type,
            "agent_id_masked": filing.agent_id_masked,
            "agent_id_digest": filing.agent_id_digest,
        },
        "I": [
            {"kind": a.kind, "sha256": a.sha256, "size": a.size, "content_type": a.content_type}
            for a in filing.attachments.order_by("kind", "pk")
        ],
        "J": _change_section(filing),
        "K": _cancellation_section(filing),
    }
    snapshot["unknown"] = snapshot_unknowns(snapshot)
    return snapshot


def snapshot_unknowns(snapshot: dict) -> list[dict[str, str]]:
    """The facts a filing must state that nobody has recorded yet: each blocks the review.

    The documents say "unknown" where these are; nothing is assumed in their place.
    """
    unknown: list[dict[str, str]] = []

    def missing(section: dict, *fields: str, where: str = "") -> None:
        unknown.extend({"fact": f, "where": where} for f in fields if not str(section.get(f) or "").strip())

    missing(snapshot["B"], "legal_representative", "legal_rep_id_type", "contact")
    missing(snapshot["C"], "agent_name", "agent_id_type")
    missing(snapshot["F"], "measures", "mlps_level", "incident_plan_on", "training_last_on")
    for system in snapshot["D"]:
        name = system["name_zh"]
        if system.get("cross_border") is None:
            unknown.append({"fact": "cross_border", "where": name})
        if system.get("public_place") and not system.get("signage"):
            unknown.append({"fact": "public_place", "where": name})
        if system.get("recognition") != "none":
            missing(system, "recognition_mode", where=name)
        if system.get("kind") in ("device", "central") and not system.get("devices"):
            unknown.append({"fact": "devices", "where": name})
        if system.get("processor") is not None:
            missing(system["processor"], "counterparty", "contact", where=name)
            if system.get("kind") == "recipient":
                missing(system["processor"], "provision_purpose", where=name)
    if snapshot.get("K") is not None:
        missing(snapshot["K"], "disposal", where="")
    return unknown


RELEVANT = ("B", "D", "F", "G", "H")  # what a change to is a candidate for a change filing (not counts or dates)


def _relevant(data: dict) -> dict:
    relevant = {key: data.get(key) for key in RELEVANT}
    counts = ("persons", "transmission_consented", "recorded_processing")  # counts change daily; the registry doesn't
    relevant["D"] = [{k: v for k, v in system.items() if k not in counts} for system in relevant.get("D") or []]
    return relevant


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        for key in sorted(value):
            yield from _flatten(value[key], f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list) and value and all(isinstance(item, dict) and "id" in item for item in value):
        for item in value:
            yield from _flatten(item, f"{prefix}[{item['id']}]")
    else:
        yield prefix, value


def snapshot_diff(before: dict, after: dict) -> list[dict]:
    """A readable list of what changed between two snapshots' filing-relevant fields."""
    old, new = dict(_flatten(_relevant(before))), dict(_flatten(_relevant(after)))
    # Each system's change is told with its name (the newer one where it was renamed).
    names = {
        f"D[{system['id']}]": system.get("name_zh", "") for data in (before, after) for system in data.get("D") or []
    }
    return [
        {"field": key, "before": old.get(key), "after": new.get(key)}
        | ({"system": names[key.split(".")[0]]} if key.split(".")[0] in names else {})
        for key in sorted(set(old) | set(new))
        if old.get(key) != new.get(key)
    ]


def _change_section(filing: Filing) -> dict | None:
    if filing.kind != FilingObligation.Kind.CHANGE or filing.previous is None:
        return None
    review = getattr(filing.obligation, "change_review", None) if filing.obligation else None
    current = dict(filing.snapshot or {})
    return {
        "previous_number": filing.previous.number,
        "previous_version": filing.previous.version,
        "previous_receipt": filing.previous.cac_receipt_number,
        "changed_on": review.detected_on.isoformat() if review else "",
        # Who decided, by name and role in each language (frozen: the document never changes after).
        "decided_by_zh": actor_text(review.decided_by, "zh") if review and review.decided_by else "",
        "decided_by_en": actor_text(review.decided_by, "en") if review and review.decided_by else "",
        "diff": review.changes if review else snapshot_diff(filing.previous.snapshot or {}, current),
        # Security incidents since the previous filing: a change may follow from one (R27).
        "incidents": incidents_since(filing.entity, filing.previous.submitted_at),
    }


def _cancellation_section(filing: Filing) -> dict | None:
    if filing.kind != FilingObligation.Kind.CANCELLATION:
        return None
    entity = filing.entity
    deletions = DeletionRequest.objects.filter(
        trigger=DeletionRequest.Trigger.RECOGNITION_ENDED, propagations__system__entity=entity
    ).distinct()
    per_system = []
    for system in ProcessingSystem.objects.filter(entity=entity).order_by("pk"):
        rows = Propagation.objects.filter(system=system, deletion_request__in=deletions)
        certificates = (
            sorted(
                {
                    str(evidence.get("certificate_sha256"))
                    for evidence in rows.exclude(evidence=None).values_list("evidence", flat=True)
                    if isinstance(evidence, dict) and evidence.get("certificate_sha256")
                }
            )
            if system.kind == ProcessingSystem.Kind.PROCESSOR
            else None
        )
        per_system.append(
            {
                "processor_certificates": certificates,  # None: not a processor
                "system": system.name_zh,
                "instructions": rows.count(),
                "confirmed": rows.filter(state__in=Propagation.TERMINAL).count(),
                "evidence_sha256": fingerprint(
                    sorted(rows.exclude(evidence_sha256="").values_list("evidence_sha256", flat=True))
                ),
            }
        )
    done = deletions.filter(state=DeletionRequest.State.COMPLETED).aggregate(Max("completed_at"))["completed_at__max"]
    filed = (
        entity.filings.filter(state__in=[Filing.State.SUBMITTED, Filing.State.ACKNOWLEDGED])
        .exclude(pk=filing.pk)
        .order_by("-submitted_at")
        .first()
    )
    return {
        "disposal": filing.disposal_description,
        "ended_on": entity.recognition_ended_on.isoformat() if entity.recognition_ended_on else "",
        # The filing being cancelled, by the number the CAC gave it.
        "filed_receipt": filed.cac_receipt_number if filed else "",
        "filed_number": filed.number if filed else "",
        "systems": per_system,
        "completed_on": timezone.localdate(done).isoformat()
        if done and not deletions.exclude(state="completed").exists()
        else "",
    }
