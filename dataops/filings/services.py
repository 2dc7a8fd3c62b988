"""The lifecycle of a filing: draft, reviewed, submitted, acknowledged. A submitted filing never changes.

Obligations start filings (an officer report or an audit is recorded as done instead);
documents are generated from a frozen snapshot by the workers; the regulator
acknowledges receipt."""

from __future__ import annotations

import hashlib
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights import crypto, signing
from facerights.audit import audit_anchor, audit_record
from facerights.due import Due
from facerights.models import AuditChainHead
from facerights.queues import enqueue_on_commit

from ..registry.identity import id_number_check, id_number_seal
from ..registry.models import LegalEntity
from .documents import DOCUMENTS
from .models import Filing, FilingAttachment, FilingObligation
from .obligations import AUDIT_INTERVAL_YEARS, years_later
from .snapshot import filing_snapshot, fingerprint
from .wording import label

REQUIRED_ATTACHMENTS = (
    FilingAttachment.Kind.CREDIT_CODE_CERTIFICATE,
    FilingAttachment.Kind.LEGAL_REP_ID,
    FilingAttachment.Kind.AGENT_ID,
    FilingAttachment.Kind.POWER_OF_ATTORNEY,
    FilingAttachment.Kind.COMMITMENT,
)


class FilingError(ValidationError):
    pass


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
            following = FilingObligation(
                entity=obligation.entity, kind=FilingObligation.Kind.COMPLIANCE_AUDIT, triggered_on=done_on
            )
            following.due_set(Due.firm(years_later(done_on, AUDIT_INTERVAL_YEARS)))
            following.save()
    return obligation


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


def agent_id_aad(filing: Filing) -> bytes:
    return f"facerights:agent-id:{filing.pk}".encode()


def filing_agent_set(
    *, actor: str, filing: Filing, name: str, phone: str, email: str, id_type: str = "", id_number: str = ""
) -> Filing:
    """Name the person handling the filing (经办人), with their identity document when given (its number
    encrypted; left as it is when none is given). Only a draft changes; the documents must be generated again."""
    number = id_number_check(id_type, id_number) if id_number.strip() else ""
    with transaction.atomic():
        filing = _editable(filing)
        if filing.state != Filing.State.DRAFT:
            raise FilingError(_("Only a draft changes: a reviewed filing keeps what was reviewed."), code="state")
        sealed = id_number_seal(number, aad=agent_id_aad(filing)) if number else None
        unchanged = (filing.agent_name, filing.agent_phone, filing.agent_email) == (name, phone, email)
        if unchanged and (sealed is None or (filing.agent_id_type, filing.agent_id_digest) == (id_type, sealed.digest)):
            return filing
        filing.agent_name, filing.agent_phone, filing.agent_email = name, phone, email
        fields = ["agent_name", "agent_phone", "agent_email"]
        if sealed is not None:
            filing.agent_id_type, filing.agent_id_ciphertext = id_type, sealed.ciphertext
            filing.agent_id_masked, filing.agent_id_digest = sealed.masked, sealed.digest
            fields += ["agent_id_type", "agent_id_ciphertext", "agent_id_masked", "agent_id_digest"]
        filing.save(update_fields=fields)
        audit_record(actor=actor, action="filing.agent_changed", target=filing)
    return filing


def filing_disposal_set(*, actor: str, filing: Filing, text: str) -> Filing:
    """Describe how the facial information was disposed of (a cancellation); only a draft changes."""
    with transaction.atomic():
        filing = _editable(filing)
        if filing.disposal_description == text.strip():
            return filing
        if filing.state != Filing.State.DRAFT:
            raise FilingError(_("Only a draft changes: a reviewed filing keeps what was reviewed."), code="state")
        filing.disposal_description = text.strip()
        filing.save(update_fields=["disposal_description"])
        audit_record(actor=actor, action="filing.disposal_described", target=filing)
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
    with transaction.atomic():
        filing = _editable(filing)
        if filing.state != Filing.State.DRAFT:
            raise FilingError(_("Only a draft is regenerated; a reviewed filing keeps its snapshot."), code="state")
        snapshot = filing_snapshot(filing)
        filing.snapshot = snapshot
        filing.snapshot_sha256 = fingerprint(snapshot)
        # Who issued it, not only that it is unchanged: the deployment's signature of the fingerprint.
        filing.snapshot_signature = signing.sign("filing", filing.snapshot_sha256)
        filing.progress = 0
        filing.save(update_fields=["snapshot", "snapshot_sha256", "snapshot_signature", "progress"])
        filing.documents.all().delete()
        audit_record(actor=actor, action="filing.snapshot", target=filing, data={"sha256": filing.snapshot_sha256})
        for kind, language in DOCUMENTS:
            enqueue_on_commit("filings.build_document", filing.pk, kind, language)
    return filing


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
        snapshot = cast("dict[str, Any]", filing.snapshot)  # set: the documents were built from it
        unknown = snapshot.get("unknown") or []
        if unknown:
            raise FilingError(
                _(
                    "The documents state facts nobody has recorded yet: %(list)s. Record them in the registry, "
                    "then generate the documents again."
                )
                % {
                    "list": "; ".join(
                        f"{label(item['fact'])}{' (' + item['where'] + ')' if item['where'] else ''}"
                        for item in unknown
                    )
                },
                code="unknown_facts",
            )
        if {a["sha256"] for a in snapshot["I"]} != set(filing.attachments.values_list("sha256", flat=True)):
            raise FilingError(
                _("Attachments changed after the documents were generated: generate them again."), code="stale"
            )
        filing.state = Filing.State.REVIEWED
        filing.reviewed_by = actor
        filing.save(update_fields=["state", "reviewed_by"])
        audit_record(actor=actor, action="filing.reviewed", target=filing)
    return filing


def filing_submit(*, actor: str, filing: Filing, receipt_number: str) -> Filing:
    """Record that the pack was uploaded to the CAC's system, with the receipt number it gave.

    From now on the filing never changes, and every later document cites the receipt.
    """
    receipt_number = receipt_number.strip()
    with transaction.atomic():
        filing = Filing.objects.select_for_update().get(pk=filing.pk)
        if filing.locked:
            return filing
        if filing.state != Filing.State.REVIEWED:
            raise FilingError(_("A filing is reviewed before it is submitted."), code="state")
        if not receipt_number or len(receipt_number) > 64:
            raise FilingError(
                _("Give the receipt number the CAC's filing system showed for this submission."), code="receipt"
            )
        filing.state = Filing.State.SUBMITTED
        filing.submitted_at = timezone.now()
        filing.cac_receipt_number = receipt_number
        filing.save(update_fields=["state", "submitted_at", "cac_receipt_number"])
        if filing.obligation_id:
            FilingObligation.objects.filter(pk=filing.obligation_id).update(fulfilled_at=filing.submitted_at)
        heads = {h.chain: h.hash for h in AuditChainHead.objects.filter(chain="registry")}
        audit_record(
            actor=actor,
            action="filing.submitted",
            target=filing,
            data={
                "sha256": filing.snapshot_sha256,
                "registry_head": heads.get("registry", ""),
                "receipt": filing.cac_receipt_number,
            },
        )
        # The pack of a submitted filing never changes: it carries the chain's head as of now, with this event.
        filing.submitted_anchor = audit_anchor()
        filing.save(update_fields=["submitted_anchor"])
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
