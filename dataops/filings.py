"""Filings with the provincial cyberspace administration (Measures Art 15; REGULATION.md §3).

The threshold monitor opens an obligation when an entity stores 100,000 people;
a filing is built from a frozen snapshot of the registry (field groups A to K of
REGULATION.md §3.3), rendered as three PDFs in Chinese with an English rendering,
reviewed, submitted and acknowledged. A submitted filing never changes. A change
to filed information opens a "substantive change?" review; ending face
recognition opens deletions everywhere and a cancellation filing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentRecord, Notice
from facerights import crypto
from facerights.audit import audit_anchor, audit_record
from facerights.celery import enqueue_on_commit
from facerights.models import AuditChainHead
from facerights.workdays import CalendarYearUnknown, add_working_days

from .counting import FILING_THRESHOLD, STORED
from .models import (
    ChangeReview,
    DeletionRequest,
    Filing,
    FilingAttachment,
    FilingDocument,
    FilingObligation,
    Holding,
    ImpactAssessment,
    LegalEntity,
    ProcessingSystem,
    Propagation,
)
from .provinces import province_name_zh

ALERT_PERCENTAGES = (80, 95, 100)
FILING_WORKING_DAYS = 30
PIPO_THRESHOLD = 1_000_000  # PIPL Art 52 with the CAC's 2025 announcement (REGULATION.md P11)
AUDIT_THRESHOLD = 10_000_000  # "more than": compliance audit at least every two years (P12)
AUDIT_INTERVAL_YEARS = 2
REQUIRED_ATTACHMENTS = (
    FilingAttachment.Kind.CREDIT_CODE_CERTIFICATE,
    FilingAttachment.Kind.LEGAL_REP_ID,
    FilingAttachment.Kind.AGENT_ID,
    FilingAttachment.Kind.POWER_OF_ATTORNEY,
    FilingAttachment.Kind.COMMITMENT,
)


class FilingError(ValidationError):
    pass


def fingerprint(data) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def filing_due(day: dt.date) -> tuple[dt.date, bool]:
    """30 PRC working days after the day; provisional (the earliest possible) if a year's holidays are unknown."""
    try:
        return add_working_days(day, FILING_WORKING_DAYS), False
    except CalendarYearUnknown:
        return day + dt.timedelta(days=FILING_WORKING_DAYS), True


# --- The threshold monitor -------------------------------------------------------------------


def threshold_check(*, entity: LegalEntity, day: dt.date, persons: int, previous: int) -> FilingObligation | None:
    """Alert the DPO at 80%, 95% and 100% of 100,000; on reaching it, open the filing obligation."""
    crossed = [p for p in ALERT_PERCENTAGES if previous < FILING_THRESHOLD * p // 100 <= persons]
    for percent in crossed:
        audit_record(
            actor="task:person_counts",
            action="filing.threshold_alert",
            target=entity,
            data={"percent": percent, "persons": persons},
        )
        transaction.on_commit(
            lambda percent=percent, address=entity.dpo_email: send_mail(
                _("%(entity)s stores the faces of %(persons)s people (%(percent)s%% of the filing threshold)")
                % {"entity": entity.name_zh, "persons": persons, "percent": percent},
                _(
                    "At 100,000 people a filing with the provincial cyberspace administration is due within 30 working days (Measures Art 15)."
                ),
                None,
                [address],
            )
        )
    if persons < FILING_THRESHOLD or entity.filing_obligations.filter(kind=FilingObligation.Kind.INITIAL).exists():
        return None
    due_on, provisional = filing_due(day)
    obligation = FilingObligation.objects.create(
        entity=entity,
        kind=FilingObligation.Kind.INITIAL,
        triggered_on=day,
        due_on=due_on,
        due_on_provisional=provisional,
    )
    audit_record(
        actor="task:person_counts",
        action="filing.obligation_opened",
        target=entity,
        data={"kind": "initial", "triggered_on": day.isoformat(), "due_on": due_on.isoformat()},
    )
    return obligation


def _years_later(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def headcount_check(*, entity: LegalEntity, day: dt.date, headcount: int) -> list[FilingObligation]:
    """The duties that follow the number of people whose personal information the entity handles (PIPL Arts 52, 54).

    At 1,000,000: report the personal information protection officer to the city cyberspace
    administration within 30 working days. Above 10,000,000: a compliance audit within two
    years, then every two years (the next one opens when the last is recorded).
    """
    opened = []
    if headcount >= PIPO_THRESHOLD and not entity.filing_obligations.filter(kind=FilingObligation.Kind.PIPO_REPORT):
        due_on, provisional = filing_due(day)
        opened.append((FilingObligation.Kind.PIPO_REPORT, due_on, provisional))
    if headcount > AUDIT_THRESHOLD and not entity.filing_obligations.filter(
        kind=FilingObligation.Kind.COMPLIANCE_AUDIT
    ):
        opened.append((FilingObligation.Kind.COMPLIANCE_AUDIT, _years_later(day, AUDIT_INTERVAL_YEARS), False))
    obligations = []
    for kind, due_on, provisional in opened:
        obligation = FilingObligation.objects.create(
            entity=entity, kind=kind, triggered_on=day, due_on=due_on, due_on_provisional=provisional
        )
        audit_record(
            actor="task:person_counts",
            action="filing.obligation_opened",
            target=entity,
            data={"kind": kind, "headcount": headcount, "due_on": due_on.isoformat()},
        )
        transaction.on_commit(
            lambda obligation=obligation, address=entity.dpo_email: send_mail(
                _("%(entity)s: %(duty)s, due %(due)s")
                % {"entity": entity.name_zh, "duty": obligation.get_kind_display(), "due": obligation.due_on},
                _(
                    "The entity handles the personal information of %(count)s people. "
                    "Record it in the admin (Filing obligations) when it is done."
                )
                % {"count": headcount},
                None,
                [address],
            )
        )
        obligations.append(obligation)
    return obligations


def obligation_start(*, actor: str, obligation: FilingObligation) -> Filing:
    """The draft filing that fulfils a filing obligation (the same one if it was started before)."""
    if obligation.kind not in FilingObligation.FILED:
        raise FilingError(
            _("This duty is not filed through FaceRights: record it as done when it is."), code="not_filed"
        )
    return obligation.filings.first() or filing_create(
        actor=actor, entity=obligation.entity, kind=obligation.kind, obligation=obligation
    )


def obligation_fulfil(*, actor: str, obligation: FilingObligation, reference: str) -> FilingObligation:
    """Record an officer report or a compliance audit as done; an audit opens the next one, two years on."""
    reference = reference.strip()
    if obligation.kind in FilingObligation.FILED:
        raise FilingError(_("A filing is done when it is recorded as submitted."), code="filed")
    if not reference:
        raise FilingError(_("Give the report's receipt number or the audit report's reference."), code="reference")
    with transaction.atomic():
        obligation = FilingObligation.objects.select_for_update().get(pk=obligation.pk)
        if obligation.fulfilled_at is not None:
            return obligation
        obligation.fulfilled_at = timezone.now()
        obligation.fulfilled_reference = reference[:200]
        obligation.save(update_fields=["fulfilled_at", "fulfilled_reference"])
        audit_record(
            actor=actor,
            action="filing.obligation_fulfilled",
            target=obligation.entity,
            data={"kind": obligation.kind, "obligation": obligation.pk},
        )
        if obligation.kind == FilingObligation.Kind.COMPLIANCE_AUDIT:
            done_on = timezone.localdate(obligation.fulfilled_at)
            FilingObligation.objects.create(
                entity=obligation.entity,
                kind=FilingObligation.Kind.COMPLIANCE_AUDIT,
                triggered_on=done_on,
                due_on=_years_later(done_on, AUDIT_INTERVAL_YEARS),
            )
    return obligation


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
    return {
        "id": system.pk,
        "name_zh": system.name_zh,
        "name_en": system.name_en or system.name_zh,
        "kind": system.kind,
        "purposes": sorted(p.code for p in system.purposes.all()),
        "purposes_zh": sorted(p.name_zh for p in system.purposes.all()),
        "recognition": system.recognition,
        "legal_basis": "written_consent" if system.requires_written_consent else "separate_consent",
        "face_only_method": not system.alternatives,
        "alternatives": sorted(system.alternatives),
        "national_identity_service": system.uses_national_identity_service,
        "site": system.site.name_zh if system.site else "",
        "site_address": system.site.address if system.site else "",
        "public_place": bool(system.site and system.site.is_public_place),
        "signage": bool(system.site and system.site.signage_present),
        "collection_area": system.site.collection_area if system.site else "",
        "private_space": False,  # refused by the registry (R28)
        "storage_location": system.storage_location,
        "internet_transmission": system.internet_transmission,
        "data_kinds": [k for k, kept in (("image", system.keeps_image), ("template", system.keeps_template)) if kept],
        "retention_days": system.retention_days,
        "retention_justification": system.retention_justification_zh,
        "processor": {
            "contract": system.contract_reference,
            "term": f"{system.contract_starts_on or ''}/{system.contract_ends_on or ''}",
            "data_types": system.contract_data_types,
            "subprocessing_approved": system.subprocessing_approved,
            "contact": system.contact_name,
        }
        if system.kind in (ProcessingSystem.Kind.PROCESSOR, ProcessingSystem.Kind.RECIPIENT)
        else None,
        "cross_border": False,
        "minors_under_14": minors,
        "status": system.status,
        "notice_version": notice.version if notice else None,
        "notice_published": notice.published_at.date().isoformat() if notice else "",
        "notice_sha256": notice.digest if notice else "",
        "persons": persons,
    }


def registry_sections(entity: LegalEntity, today: dt.date) -> dict:
    """Field groups B and D to H: what the registry says about the entity today."""
    systems = (
        ProcessingSystem.objects.filter(entity=entity)
        .exclude(status=ProcessingSystem.Status.DRAFT)
        .prefetch_related("purposes")
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
    return {
        "B": {
            "name_zh": entity.name_zh,
            "name_en": entity.name_en,
            "credit_code": entity.credit_code,
            "registered_address": entity.registered_address,
            "province": entity.province,
            "operating_address": entity.operating_address or entity.registered_address,
            "legal_representative": entity.legal_representative,
            "contact": f"{entity.dpo_name} {entity.dpo_phone} {entity.dpo_email}".strip(),
            "pipo": f"{entity.dpo_name} {entity.dpo_phone} {entity.dpo_email}".strip()
            if entity.pipo_designated
            else "",
            "group": entity.group.name_zh if entity.group_id else "",
            "affiliates": sorted(e.credit_code for e in entity.group.entities.exclude(pk=entity.pk))
            if entity.group_id
            else [],
            "industry": entity.industry,
        },
        "D": [_system_section(system, today) for system in systems],
        "E": {
            "total_persons": total,
            "counted_on": today.isoformat(),
            "method": "distinct natural persons with facial information stored in any system; completed deletions excluded",
        },
        "F": {"measures": entity.security_measures},
        "G": {
            "notices": [
                {
                    "system": s.name_zh,
                    "version": n.version,
                    "published": n.published_at.date().isoformat(),
                    "sha256": n.digest,
                }
                for s in systems
                for n in s.notices.filter(status=Notice.Status.PUBLISHED).order_by("version")
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
                "keep_until": (a.approved_at.date() + dt.timedelta(days=3 * 366)).isoformat() if a.approved_at else "",
            }
            for a in assessments
        ],
    }


def filing_snapshot(filing: Filing, *, today: dt.date | None = None) -> dict:
    """Everything the documents show, as plain data; its fingerprint is printed on every page."""
    today = today or timezone.localdate()
    entity = filing.entity
    obligation = filing.obligation
    return {
        "as_of": today.isoformat(),
        "A": {
            "number": filing.number,
            "version": filing.version,
            "kind": filing.kind,
            "authority_province": entity.province,
            "authority_name": province_name_zh(entity.province),
            "triggered_on": obligation.triggered_on.isoformat() if obligation else "",
            "due_on": obligation.due_on.isoformat() if obligation else "",
        },
        **registry_sections(entity, today),
        "C": {"agent_name": filing.agent_name, "agent_phone": filing.agent_phone, "agent_email": filing.agent_email},
        "I": [
            {"kind": a.kind, "sha256": a.sha256, "size": a.size, "content_type": a.content_type}
            for a in filing.attachments.order_by("kind", "pk")
        ],
        "J": _change_section(filing),
        "K": _cancellation_section(filing),
    }


RELEVANT = ("B", "D", "F", "G", "H")  # what a change to is a candidate for a change filing (not counts or dates)


def _relevant(data: dict) -> dict:
    relevant = {key: data.get(key) for key in RELEVANT}
    for system in relevant.get("D") or []:
        system.pop("persons", None)
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
    return [
        {"field": key, "before": old.get(key), "after": new.get(key)}
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
        "changed_on": review.detected_on.isoformat() if review else "",
        "decided_by": review.decided_by if review else "",
        "diff": review.changes if review else snapshot_diff(filing.previous.snapshot or {}, current),
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
        per_system.append(
            {
                "system": system.name_zh,
                "instructions": rows.count(),
                "confirmed": rows.filter(state__in=Propagation.TERMINAL).count(),
                "evidence_sha256": fingerprint(
                    sorted(rows.exclude(evidence_sha256="").values_list("evidence_sha256", flat=True))
                ),
            }
        )
    done = deletions.filter(state=DeletionRequest.State.COMPLETED).aggregate(Max("completed_at"))["completed_at__max"]
    return {
        "ended_on": entity.recognition_ended_on.isoformat() if entity.recognition_ended_on else "",
        "systems": per_system,
        "completed_on": timezone.localdate(done).isoformat()
        if done and not deletions.exclude(state="completed").exists()
        else "",
    }


# --- Lifecycle ---------------------------------------------------------------------------------


def filing_create(*, actor: str, entity: LegalEntity, kind: str, obligation: FilingObligation | None = None) -> Filing:
    if kind not in FilingObligation.FILED:
        raise FilingError(_("Only initial, change and cancellation filings are built here."), code="kind")
    with transaction.atomic():
        LegalEntity.objects.select_for_update().get(pk=entity.pk)
        count = entity.filings.count() + 1
        previous = (
            entity.filings.filter(state__in=[Filing.State.SUBMITTED, Filing.State.ACKNOWLEDGED])
            .order_by("-submitted_at")
            .first()
        )
        filing = Filing.objects.create(
            entity=entity,
            obligation=obligation,
            kind=kind,
            number=f"{entity.credit_code}-{kind[:1].upper()}{count:03d}",
            province=entity.province,
            previous=previous,
        )
        audit_record(actor=actor, action="filing.created", target=filing, data={"kind": kind})
    return filing


def _editable(filing: Filing) -> Filing:
    filing = Filing.objects.select_for_update().get(pk=filing.pk)
    if filing.locked:
        raise FilingError(_("A submitted filing never changes: start a change filing instead."), code="locked")
    return filing


def filing_attach(*, actor: str, filing: Filing, kind: str, content: bytes, content_type: str) -> FilingAttachment:
    with transaction.atomic():
        filing = _editable(filing)
        attachment = FilingAttachment(
            filing=filing,
            kind=kind,
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        attachment.ciphertext = crypto.blob_encrypt(content, aad=attachment.aad)
        attachment.save()
        if filing.state == Filing.State.REVIEWED:
            Filing.objects.filter(pk=filing.pk).update(state=Filing.State.DRAFT, reviewed_by="")
        audit_record(
            actor=actor,
            action="filing.attachment_added",
            target=filing,
            data={"kind": kind, "sha256": attachment.sha256},
        )
    return attachment


def filing_generate(*, actor: str, filing: Filing) -> Filing:
    """Freeze a fresh snapshot of a draft and build its documents in the background."""
    from .tasks import filing_build_task

    with transaction.atomic():
        filing = _editable(filing)
        if filing.state != Filing.State.DRAFT:
            raise FilingError(_("Only a draft is regenerated; a reviewed filing keeps its snapshot."), code="state")
        snapshot = filing_snapshot(filing)
        filing.snapshot = snapshot
        filing.snapshot_sha256 = fingerprint(snapshot)
        filing.progress = 0
        filing.save(update_fields=["snapshot", "snapshot_sha256", "progress"])
        filing.documents.all().delete()
        audit_record(actor=actor, action="filing.snapshot", target=filing, data={"sha256": filing.snapshot_sha256})
        for kind, language in DOCUMENTS:
            enqueue_on_commit(filing_build_task, filing.pk, kind, language)
    return filing


DOCUMENTS = [(kind, lang) for kind in FilingDocument.Kind.values for lang in ("zh", "en")]


def filing_build_document(*, filing_id: int, kind: str, language: str) -> FilingDocument:
    """Render one document from the frozen snapshot (the same snapshot gives the same bytes)."""
    from weasyprint import HTML

    filing = Filing.objects.get(pk=filing_id)
    html = render_to_string(
        f"dataops/filings/{kind}.html",
        {
            "s": filing.snapshot,
            "fingerprint": filing.snapshot_sha256,
            "zh": language == "zh",
            "L": LABELS,
            "lang": language,
        },
    )
    pdf = HTML(string=html).write_pdf()
    document, _created = FilingDocument.objects.update_or_create(
        filing=filing, kind=kind, language=language, defaults={"pdf": pdf, "sha256": hashlib.sha256(pdf).hexdigest()}
    )
    built = filing.documents.count()
    Filing.objects.filter(pk=filing.pk).update(progress=round(100 * built / len(DOCUMENTS)))
    return document


def filing_build(*, filing_id: int) -> Filing:
    """Render every document in this process (the task sends one per document, to run side by side)."""
    for kind, language in DOCUMENTS:
        filing_build_document(filing_id=filing_id, kind=kind, language=language)
    return Filing.objects.get(pk=filing_id)


def filing_review(*, actor: str, filing: Filing) -> Filing:
    with transaction.atomic():
        filing = _editable(filing)
        if filing.state == Filing.State.REVIEWED:
            return filing
        if filing.documents.count() < 6:
            raise FilingError(_("Generate the documents first."), code="documents")
        missing = [
            FilingAttachment.Kind(k).label
            for k in REQUIRED_ATTACHMENTS
            if not filing.attachments.filter(kind=k).exists()
        ]
        if missing:
            raise FilingError(
                _("Still missing: %(list)s.") % {"list": "; ".join(str(m) for m in missing)}, code="attachments"
            )
        if {a["sha256"] for a in filing.snapshot["I"]} != set(filing.attachments.values_list("sha256", flat=True)):
            raise FilingError(
                _("Attachments changed after the documents were generated: generate them again."), code="stale"
            )
        filing.state = Filing.State.REVIEWED
        filing.reviewed_by = actor
        filing.save(update_fields=["state", "reviewed_by"])
        audit_record(actor=actor, action="filing.reviewed", target=filing)
    return filing


def filing_submit(*, actor: str, filing: Filing) -> Filing:
    """Record that the pack was uploaded to the CAC's system: from now on the filing never changes."""
    with transaction.atomic():
        filing = Filing.objects.select_for_update().get(pk=filing.pk)
        if filing.locked:
            return filing
        if filing.state != Filing.State.REVIEWED:
            raise FilingError(_("A filing is reviewed before it is submitted."), code="state")
        filing.state = Filing.State.SUBMITTED
        filing.submitted_at = timezone.now()
        filing.save(update_fields=["state", "submitted_at"])
        if filing.obligation_id:
            FilingObligation.objects.filter(pk=filing.obligation_id).update(fulfilled_at=filing.submitted_at)
        heads = {h.chain: h.hash for h in AuditChainHead.objects.filter(chain="registry")}
        audit_record(
            actor=actor,
            action="filing.submitted",
            target=filing,
            data={"sha256": filing.snapshot_sha256, "registry_head": heads.get("registry", "")},
        )
    return filing


def filing_acknowledge(*, actor: str, filing: Filing, authority: str) -> Filing:
    with transaction.atomic():
        filing = Filing.objects.select_for_update().get(pk=filing.pk)
        if filing.state == Filing.State.ACKNOWLEDGED:
            return filing
        if filing.state != Filing.State.SUBMITTED:
            raise FilingError(_("Only a submitted filing can be acknowledged."), code="state")
        filing.state = Filing.State.ACKNOWLEDGED
        filing.acknowledged_at = timezone.now()
        filing.acknowledged_by = authority[:200]
        filing.save(update_fields=["state", "acknowledged_at", "acknowledged_by"])
        audit_record(actor=actor, action="filing.acknowledged", target=filing)
    return filing


# --- Changes and cancellation -------------------------------------------------------------------


def filing_change_check(*, entity: LegalEntity, today: dt.date | None = None) -> ChangeReview | None:
    """Compare the registry with the last submitted filing; a difference opens a review (once per difference)."""
    today = today or timezone.localdate()
    last = (
        entity.filings.filter(state__in=[Filing.State.SUBMITTED, Filing.State.ACKNOWLEDGED])
        .order_by("-submitted_at")
        .first()
    )
    if last is None or not last.snapshot:
        return None
    changes = snapshot_diff(last.snapshot, registry_sections(entity, today))
    if not changes:
        return None
    digest = fingerprint(changes)
    if entity.change_reviews.filter(changes_sha256=digest).exists():
        return None
    due_on, _provisional = filing_due(today)
    with transaction.atomic():
        review = ChangeReview.objects.create(
            entity=entity, detected_on=today, due_on=due_on, changes=changes, changes_sha256=digest
        )
        audit_record(
            actor="task:filing_changes",
            action="filing.change_detected",
            target=entity,
            data={"review": review.pk, "fields": len(changes)},
        )
        address = entity.dpo_email
        transaction.on_commit(
            lambda: send_mail(
                _("Filed information of %(entity)s changed: is it substantive?") % {"entity": entity.name_zh},
                _(
                    "Decide in the admin (Change reviews). A substantive change is filed within 30 working days, by %(due)s."
                )
                % {"due": due_on.isoformat()},
                None,
                [address],
            )
        )
    return review


def change_review_decide(*, actor: str, review: ChangeReview, substantive: bool) -> ChangeReview:
    with transaction.atomic():
        review = ChangeReview.objects.select_for_update().get(pk=review.pk)
        if review.decided_at is not None:
            return review
        review.substantive = substantive
        review.decided_by = actor
        review.decided_at = timezone.now()
        if substantive:
            review.obligation = FilingObligation.objects.create(
                entity=review.entity,
                kind=FilingObligation.Kind.CHANGE,
                triggered_on=review.detected_on,
                due_on=review.due_on,
            )
        review.save()
        audit_record(
            actor=actor,
            action="filing.change_decided",
            target=review.entity,
            data={"review": review.pk, "substantive": substantive},
        )
        if substantive:
            filing_create(
                actor=actor, entity=review.entity, kind=FilingObligation.Kind.CHANGE, obligation=review.obligation
            )
    return review


def recognition_end(*, actor: str, entity: LegalEntity, on: dt.date | None = None) -> Filing:
    """End face recognition for an entity: retire its systems, delete everywhere, open the cancellation filing."""
    from .deletion import LIVE_HOLDING, deletion_requests_open
    from .services import system_retire

    on = on or timezone.localdate()
    with transaction.atomic():
        entity = LegalEntity.objects.select_for_update().get(pk=entity.pk)
        if entity.recognition_ended_on is None:
            entity.recognition_ended_on = on
            entity.save(update_fields=["recognition_ended_on"])
            audit_record(actor=actor, action="entity.recognition_ended", target=entity, data={"on": on.isoformat()})
        subject_ids = list(
            Holding.objects.filter(system__entity=entity, status__in=LIVE_HOLDING)
            .values_list("subject_id", flat=True)
            .distinct()
        )
        systems = list(entity.systems.all())
        deletion_requests_open(
            actor=actor, subject_ids=subject_ids, trigger=DeletionRequest.Trigger.RECOGNITION_ENDED, systems=systems
        )
        for system in systems:
            system_retire(actor=actor, system=system)
        obligation = entity.filing_obligations.filter(kind=FilingObligation.Kind.CANCELLATION).first()
        if obligation is None:
            due_on, provisional = filing_due(on)
            obligation = FilingObligation.objects.create(
                entity=entity,
                kind=FilingObligation.Kind.CANCELLATION,
                triggered_on=on,
                due_on=due_on,
                due_on_provisional=provisional,
            )
        filing = obligation.filings.first() or filing_create(
            actor=actor, entity=entity, kind=FilingObligation.Kind.CANCELLATION, obligation=obligation
        )
    return filing


# --- What leaves the building ----------------------------------------------------------------------

PACK_NAMES = {
    "basic_info": "01_个人信息处理者基本情况表",
    "application_form": "02_人脸识别技术应用情况备案表",
    "pia_report": "03_个人信息保护影响评估报告",
}
ATTACHMENT_ORDER = {
    FilingAttachment.Kind.CREDIT_CODE_CERTIFICATE: "04_统一社会信用代码证书",
    FilingAttachment.Kind.LEGAL_REP_ID: "05_法定代表人身份证件",
    FilingAttachment.Kind.AGENT_ID: "06_经办人身份证件",
    FilingAttachment.Kind.POWER_OF_ATTORNEY: "07_授权委托书",
    FilingAttachment.Kind.COMMITMENT: "08_承诺书",
    FilingAttachment.Kind.OTHER: "09_其他材料",
}
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


def filing_pack(filing: Filing) -> bytes:
    """One ZIP with the forms, the report and the attachments, named and ordered as the CAC's system asks."""
    buffer = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for document in filing.documents.order_by("kind", "language"):
            prefix = PACK_NAMES[document.kind]
            name = f"{prefix}.pdf" if document.language == "zh" else f"英文译本_English/{prefix}_EN.pdf"
            archive.writestr(name, bytes(document.pdf))
            manifest.append({"file": name, "sha256": document.sha256})
        for n, attachment in enumerate(filing.attachments.order_by("kind", "pk"), start=1):
            name = f"{ATTACHMENT_ORDER[attachment.kind]}_{n}.{EXTENSIONS.get(attachment.content_type, 'bin')}"
            archive.writestr(name, bytes(attachment.content))
            manifest.append({"file": name, "sha256": attachment.sha256})
        archive.writestr(
            "manifest.json",
            json.dumps(
                {
                    "filing": filing.number,
                    "version": filing.version,
                    "snapshot_sha256": filing.snapshot_sha256,
                    "audit_anchor": audit_anchor(),
                    "files": manifest,
                },
                ensure_ascii=False,
                indent=2,
            ),
        )
    return buffer.getvalue()


def evidence_bundle(filing: Filing) -> dict:
    """What a regulator downloads beside the PDFs: the data, every hash, and the compliance matrix."""
    from facerights.compliance import obligations_load

    return {
        "filing": {"number": filing.number, "version": filing.version, "kind": filing.kind, "state": filing.state},
        "snapshot": filing.snapshot,
        "snapshot_sha256": filing.snapshot_sha256,
        "documents": [
            {"kind": d.kind, "language": d.language, "sha256": d.sha256}
            for d in filing.documents.order_by("kind", "language")
        ],
        "attachments": [
            {"kind": a.kind, "sha256": a.sha256, "size": a.size} for a in filing.attachments.order_by("kind", "pk")
        ],
        # The registry's audit chain as it stands now: whoever keeps this can later prove
        # that the log was not rewritten (the regulator's page checks it).
        "audit_anchor": audit_anchor(),
        "compliance_matrix": [
            {"ref": o.ref, "title": o.title, "state": o.state, "tests": o.tests, "source": o.fields.get("Source", "")}
            for o in obligations_load()
        ],
    }


LABELS = {
    key: {"zh": zh, "en": en}
    for key, zh, en in [
        ("filing_number", "备案编号", "Filing number"),
        ("version", "版本", "Version"),
        ("fingerprint", "数据快照指纹（SHA-256）", "Data snapshot fingerprint (SHA-256)"),
        ("basic_info", "个人信息处理者基本情况表", "Basic information of the personal information handler"),
        ("application_form", "人脸识别技术应用情况备案表", "Filing form: application of facial recognition technology"),
        ("pia_report", "个人信息保护影响评估报告", "Personal information protection impact assessment report"),
        ("kind", "备案类型", "Filing type"),
        ("authority", "备案机关", "Filing authority"),
        (
            "triggered_on",
            "达到数量或发生变更、终止之日",
            "Date the number was reached, or of the change or termination",
        ),
        ("due_on", "法定期限", "Statutory deadline"),
        ("name", "名称", "Legal name"),
        ("credit_code", "统一社会信用代码", "Unified social credit code"),
        ("registered_address", "注册地址", "Registered address"),
        ("operating_address", "实际经营地址", "Operating address"),
        ("legal_representative", "法定代表人", "Legal representative"),
        ("contact", "联系人及联系方式", "Contact person and details"),
        ("pipo", "个人信息保护负责人", "Personal information protection officer"),
        ("group", "所属集团及合并备案主体", "Group and entities filing together"),
        ("industry", "所属行业", "Industry"),
        ("agent", "经办人", "Person handling the filing"),
        ("scenario", "应用场景", "Application scenario"),
        ("purpose", "处理目的", "Purpose"),
        ("method", "处理方式", "Processing method"),
        ("legal_basis", "合法性基础", "Legal basis"),
        ("alternatives", "非人脸识别替代方式", "Non-face alternatives"),
        ("face_only", "人脸识别是否为唯一验证方式", "Face recognition the only verification method"),
        (
            "national_identity",
            "是否使用国家网络身份认证公共服务",
            "Uses the national online identity authentication service",
        ),
        ("location", "设备位置", "Device location"),
        ("public_place", "是否位于公共场所（提示标识、采集区域）", "In a public place (signage, collection area)"),
        ("private_space", "是否位于私密空间", "In a private space"),
        ("storage", "存储位置", "Storage location"),
        ("transmission", "是否通过互联网对外传输", "Transmitted over the internet"),
        ("data_kinds", "存储的数据类型", "Data kinds stored"),
        ("retention", "保存期限及理由", "Retention period and justification"),
        ("processor", "受托人或接收方", "Entrusted processor or recipient"),
        ("cross_border", "是否跨境传输", "Cross-border transfer"),
        ("minors", "是否处理不满十四周岁未成年人人脸信息", "Processes facial information of children under 14"),
        ("quantity", "人脸信息存储数量", "Quantity of facial information stored"),
        ("persons", "人数", "Persons"),
        ("counted_on", "统计日期", "Counted on"),
        ("measures", "安全保护措施", "Security protection measures"),
        ("rules", "处理规则和操作规程", "Processing rules and operating procedures"),
        ("notice", "告知书", "Notice"),
        ("pia", "个人信息保护影响评估", "Impact assessment"),
        ("attachments", "承诺书及附件", "Commitment and attachments"),
        ("change", "变更情况", "Changes"),
        ("cancellation", "注销情况", "Cancellation"),
        ("yes", "是", "Yes"),
        ("no", "否", "No"),
    ]
}
