"""State changes of the registry: processing systems and impact assessments.

Every function is keyword-only, runs in one transaction, writes its audit
event in that transaction and is safe to call twice. Holdings are in
`holdings.py`; entities and sites are plain records (`facerights.services.record_save`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import Notice, Purpose
from consent.rules import birthday_in
from consent.services import consents_renewal_require
from facerights import crypto
from facerights.audit import audit_record
from facerights.services import TransitionError, content_fields

from .identity import id_number_check, id_number_seal
from .models import ImpactAssessment, LegalEntity, ProcessingSystem, SignageEvidence, Site

# --- Processing systems ------------------------------------------------------------

# A change to any of these changes how faces are processed: the assessment
# must be redone (Measures Art 9) and consents renewed (PIPL Art 14, R7).
METHOD_FIELDS = ("recognition", "keeps_template", "keeps_image", "storage_location", "internet_transmission")


def system_save(
    *, actor: str, system: ProcessingSystem, purposes: Collection[Purpose] | None = None
) -> ProcessingSystem:
    """Create or change a system's registry entry.

    A change of method or storage flags the system's approved assessments for
    reassessment and asks every current consent to be renewed; a change of
    purposes flags the assessments. Coming to need written consent asks every
    current consent to be signed afresh (R4).
    """
    with transaction.atomic():
        before = None if system._state.adding else ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        purposes_before = set(before.purposes.values_list("pk", flat=True)) if before else set()
        if before is not None:
            system.status = before.status  # the status has its own services; the rules check the real one
        system.full_clean(exclude=["purposes"])
        if before is None:
            system.save()
        else:
            system.save(update_fields=content_fields(ProcessingSystem))
        if purposes is not None:
            system.purposes.set(purposes)
        if before is None:
            audit_record(actor=actor, action="system.created", target=system)
            return system
        method_changed = [field for field in METHOD_FIELDS if getattr(before, field) != getattr(system, field)]
        purposes_changed = purposes is not None and {p.pk for p in purposes} != purposes_before
        audit_record(
            actor=actor,
            action="system.changed",
            target=system,
            data={"method_fields": method_changed, "purposes_changed": purposes_changed},
        )
        if method_changed or purposes_changed:
            reason = ", ".join(method_changed + (["purposes"] if purposes_changed else []))
            for assessment in system.assessments.filter(state=ImpactAssessment.State.APPROVED):
                impact_assessment_flag(actor=actor, assessment=assessment, reason=reason)
            system.refresh_from_db(fields=["reassessment_since"])
        if method_changed:
            consents_renewal_require(actor=actor, system_id=system.pk, reason=", ".join(method_changed))
        elif system.requires_written_consent and not before.requires_written_consent:
            # Not a change of processing (no reassessment), but no current consent was given in writing (R4):
            # each person signs afresh, and until then the consent check answers that consent must be renewed.
            consents_renewal_require(actor=actor, system_id=system.pk, reason="requires_written_consent")
    return system


@dataclass(frozen=True)
class Gate:
    """One thing a system needs before it may be activated, whether it has it, and what is wrong when not."""

    key: str
    name: str  # the gate, as a checklist names it
    problem: str  # what is missing, and why (the refusal's words)
    done: bool


def system_activation_checklist(system: ProcessingSystem) -> list[Gate]:
    """Every gate that applies to this system, met or not, in the order the DPO works through them."""
    gates = [
        Gate("purpose", _("At least one purpose"), _("It needs at least one purpose."), system.purposes.exists()),
        Gate(
            "cross_border",
            _("Whether it sends facial data abroad, answered"),
            _("Say whether it sends facial data outside mainland China (PIPL Art 38): unknown is not no."),
            system.cross_border is not None,
        ),
    ]
    if system.internet_transmission:
        gates.append(
            Gate(
                "transmission",
                _("A separate consent to sending faces over the internet"),
                _(
                    "It sends facial data over the internet, so it must ask for that separately: "
                    "add the consent type “Sending facial data over the internet” (Measures Art 8)."
                ),
                system.purposes.filter(code=Purpose.TRANSMISSION).exists(),
            )
        )
    if system.verifies_identity:
        gates.append(
            Gate(
                "alternative",
                _("A non-face alternative"),
                _("It verifies identity, so it must offer at least one non-face alternative (Measures Art 10)."),
                bool(system.alternatives),
            )
        )
    gates += [
        Gate(
            "assessment",
            _("An approved impact assessment"),
            _("It needs an approved impact assessment (Measures Art 9)."),
            system.assessments.filter(state=ImpactAssessment.State.APPROVED).exists(),
        ),
        Gate(
            "reassessment",
            _("No change of its processing awaiting a new assessment"),
            _("Its processing changed: a new impact assessment must be approved first (Measures Art 9)."),
            system.reassessment_since is None,
        ),
        Gate(
            "notice",
            _("A published notice"),
            _("It needs a published notice before anyone can consent (Measures Art 5)."),
            system.notices.filter(status=Notice.Status.PUBLISHED).exists(),
        ),
        Gate(
            "connection",
            _("A passed connection test"),
            _("It needs a passed connection test: a synthetic deletion it has confirmed."),
            system.connection_verified_at is not None,
        ),
    ]
    return gates


def system_activation_problems(system: ProcessingSystem) -> list[str]:
    """Why a system may not be activated yet (empty when it may)."""
    return [gate.problem for gate in system_activation_checklist(system) if not gate.done]


def system_activate(*, actor: str, system: ProcessingSystem) -> ProcessingSystem:
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        if system.status == ProcessingSystem.Status.ACTIVE:
            return system
        if system.status == ProcessingSystem.Status.RETIRED:
            raise TransitionError(_("A retired system cannot be activated again."), code="retired")
        problems = system_activation_problems(system)
        if problems:
            raise TransitionError(problems, code="activation")
        return _system_set_status(actor, system, ProcessingSystem.Status.ACTIVE)


def system_suspend(*, actor: str, system: ProcessingSystem) -> ProcessingSystem:
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        if system.status == ProcessingSystem.Status.SUSPENDED:
            return system
        if system.status != ProcessingSystem.Status.ACTIVE:
            raise TransitionError(_("Only an active system can be suspended."), code="not_active")
        return _system_set_status(actor, system, ProcessingSystem.Status.SUSPENDED)


def system_retire(*, actor: str, system: ProcessingSystem) -> ProcessingSystem:
    """End a system's processing for good: its assessments' three years of keeping start now."""
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        if system.status == ProcessingSystem.Status.RETIRED:
            return system
        system.retired_at = timezone.now()
        system.save(update_fields=["retired_at"])
        return _system_set_status(actor, system, ProcessingSystem.Status.RETIRED)


def system_new_processing_refusal(system: ProcessingSystem) -> ValidationError | None:
    """Why the system may not take anyone new now (an enrolment, a new consent), or None when it may.

    Deletions and the people already enrolled are not affected by any of these.
    """
    if system.status != ProcessingSystem.Status.ACTIVE:
        return ValidationError(_("This system is not active: it may not enrol anyone."), code="inactive")
    if system.reassessment_since is not None:
        return ValidationError(
            _(
                "This system's processing changed and its new impact assessment is not approved yet: "
                "it may not enrol anyone until it is (Measures Art 9)."
            ),
            code="reassessment",
        )
    if system.enrolments_paused:
        return ValidationError(
            _("This system's enrolments are paused by the data-protection officer: it may not enrol anyone now."),
            code="enrolments_paused",
        )
    return None


def system_connection_verified(*, actor: str, system: ProcessingSystem, test_id: int) -> ProcessingSystem:
    """Record that the system confirmed a synthetic deletion (a connection test): it can receive deletions."""
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        system.connection_verified_at = timezone.now()
        system.save(update_fields=["connection_verified_at"])
        audit_record(actor=actor, action="system.connection_test_passed", target=system, data={"test": test_id})
    return system


def system_enrolments_pause(*, actor: str, system: ProcessingSystem, paused: bool) -> ProcessingSystem:
    """Stop (or resume) enrolling new people; recognition of those enrolled and their deletions go on."""
    return _system_set_flag(actor, system, "enrolments_paused", paused)


def system_deliveries_pause(*, actor: str, system: ProcessingSystem, paused: bool) -> ProcessingSystem:
    """Hold deletion instructions back from a system (maintenance, an outage), or let them flow again.

    Held instructions wait, due, and are delivered when the pause ends; nothing counts
    as delivered while paused.
    """
    return _system_set_flag(actor, system, "deliveries_paused", paused)


def _system_set_flag(actor: str, system: ProcessingSystem, field: str, value: bool) -> ProcessingSystem:
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        if getattr(system, field) == value:
            return system
        setattr(system, field, value)
        system.save(update_fields=[field])
        audit_record(actor=actor, action=f"system.{field}", target=system, data={"value": value})
    return system


def _system_set_status(actor: str, system: ProcessingSystem, status: str) -> ProcessingSystem:
    previous = system.status
    system.status = status
    system.save(update_fields=["status"])
    audit_record(actor=actor, action=f"system.{status}", target=system, data={"from": previous})
    return system


# --- Impact assessments --------------------------------------------------------------

ASSESSMENT_RETENTION_YEARS = 3  # Measures Art 9, PIPL Art 56


def impact_assessment_submit(*, actor: str, assessment: ImpactAssessment) -> ImpactAssessment:
    """Send a draft (or one flagged for reassessment) to review."""
    return _assessment_move(
        actor,
        assessment,
        to=ImpactAssessment.State.IN_REVIEW,
        allowed_from=(ImpactAssessment.State.DRAFT, ImpactAssessment.State.NEEDS_REASSESSMENT),
    )


def impact_assessment_approve(*, actor: str, assessment: ImpactAssessment, reviewer: str = "") -> ImpactAssessment:
    with transaction.atomic():
        assessment = _assessment_move(
            actor, assessment, to=ImpactAssessment.State.APPROVED, allowed_from=(ImpactAssessment.State.IN_REVIEW,)
        )
        assessment.approved_at = timezone.now()
        assessment.approved_by = actor
        assessment.reassessment_reason = ""
        assessment.superseded_at = None
        if reviewer:
            assessment.reviewer = reviewer
        assessment.save(
            update_fields=["approved_at", "approved_by", "reassessment_reason", "reviewer", "superseded_at"]
        )
        covered = set(assessment.systems.values_list("pk", flat=True))
        # Older assessments of nothing but these systems are replaced by this one.
        for older in (
            ImpactAssessment.objects.filter(systems__in=covered, approved_at__isnull=False, superseded_at__isnull=True)
            .exclude(pk=assessment.pk)
            .distinct()
            .prefetch_related("systems")
        ):
            if {system.pk for system in older.systems.all()} <= covered:
                older.superseded_at = assessment.approved_at
                older.save(update_fields=["superseded_at"])
                audit_record(actor=actor, action="assessment.superseded", target=older, data={"by": assessment.pk})
        _systems_reassessment_update(actor, covered)
    return assessment


def impact_assessment_flag(*, actor: str, assessment: ImpactAssessment, reason: str) -> ImpactAssessment:
    """Mark an approved assessment as needing reassessment (a change, or a major incident)."""
    with transaction.atomic():
        assessment = _assessment_move(
            actor,
            assessment,
            to=ImpactAssessment.State.NEEDS_REASSESSMENT,
            allowed_from=(ImpactAssessment.State.APPROVED,),
            data={"reason": reason},
        )
        assessment.reassessment_reason = reason[:255]
        assessment.save(update_fields=["reassessment_reason"])
        _systems_reassessment_update(actor, set(assessment.systems.values_list("pk", flat=True)))
    return assessment


def _awaiting_reassessment() -> Q:
    """Assessments flagged for reassessment (in the flag's state or back in review) and not yet replaced."""
    return (
        Q(state__in=[ImpactAssessment.State.NEEDS_REASSESSMENT, ImpactAssessment.State.IN_REVIEW])
        & ~Q(reassessment_reason="")
        & Q(superseded_at__isnull=True)
    )


def _systems_reassessment_update(actor: str, system_ids: Collection[int]) -> None:
    """Mark each system as awaiting reassessment while one of its assessments is, and clear it after."""
    now = timezone.now()
    for system in ProcessingSystem.objects.select_for_update().filter(pk__in=system_ids).order_by("pk"):
        waiting = system.assessments.filter(_awaiting_reassessment()).exists()
        if waiting == (system.reassessment_since is not None):
            continue
        system.reassessment_since = now if waiting else None
        system.save(update_fields=["reassessment_since"])
        audit_record(
            actor=actor,
            action="system.reassessment_awaited" if waiting else "system.reassessment_done",
            target=system,
        )


def _assessment_move(
    actor: str,
    assessment: ImpactAssessment,
    *,
    to: str,
    allowed_from: tuple[str, ...],
    data: dict[str, Any] | None = None,
) -> ImpactAssessment:
    with transaction.atomic():
        assessment = ImpactAssessment.objects.select_for_update().get(pk=assessment.pk)
        if assessment.state == to:
            return assessment
        if assessment.state not in allowed_from:
            raise TransitionError(
                _("An assessment cannot go from %(from)s to %(to)s.")
                % {"from": assessment.get_state_display(), "to": ImpactAssessment.State(to).label},
                code="transition",
            )
        previous = assessment.state
        assessment.state = to
        assessment.save(update_fields=["state"])
        audit_record(
            actor=actor,
            action=f"assessment.{to}",
            target=assessment,
            data={"from": previous, **(data or {})},
        )
    return assessment


def impact_assessment_kept_until(assessment: ImpactAssessment) -> dt.date | None:
    """The first day an approved assessment may be deleted, or None while it is still in use.

    The three years run from the day it was superseded, or the day the processing it
    covers ended (its last system retired), whichever comes first (Measures Art 9,
    PIPL Art 56; see docs/legal-readings.md). Not from approval: an assessment in use
    is kept however old it is.
    """
    ends = []
    if assessment.superseded_at is not None:
        ends.append(assessment.superseded_at)
    systems = list(assessment.systems.all())
    if systems and all(system.retired_at is not None for system in systems):
        ends.append(max(cast(dt.datetime, system.retired_at) for system in systems))
    if not ends:
        return None
    ended = timezone.localdate(min(ends))
    # The same day three years on (29 February: 1 March, one day longer), then one more day.
    return birthday_in(ended.year + ASSESSMENT_RETENTION_YEARS, ended) + dt.timedelta(days=1)


def impact_assessment_deletable(assessment: ImpactAssessment, *, today: dt.date | None = None) -> bool:
    """A draft never approved, or one whose three years after use have passed."""
    if assessment.approved_at is None:
        return assessment.state == ImpactAssessment.State.DRAFT
    kept_until = impact_assessment_kept_until(assessment)
    return kept_until is not None and (today or timezone.localdate()) >= kept_until


def impact_assessment_delete(*, actor: str, assessment: ImpactAssessment) -> None:
    with transaction.atomic():
        if not impact_assessment_deletable(assessment):
            raise TransitionError(
                _(
                    "An assessment is kept while its processing goes on and for three years after it is "
                    "superseded or the processing ends (Measures Art 9)."
                ),
                code="retained",
            )
        audit_record(actor=actor, action="assessment.deleted", target=assessment)
        assessment.delete()


def legal_rep_id_aad(entity: LegalEntity) -> bytes:
    return f"facerights:legal-rep-id:{entity.pk}".encode()


def legal_rep_id_record(*, actor: str, entity: LegalEntity, id_type: str, number: str) -> LegalEntity:
    """Record the legal representative's identity document: its kind, and its number encrypted."""
    number = id_number_check(id_type, number)
    with transaction.atomic():
        entity = LegalEntity.objects.select_for_update().get(pk=entity.pk)
        sealed = id_number_seal(number, aad=legal_rep_id_aad(entity))
        if (entity.legal_rep_id_type, entity.legal_rep_id_digest) == (id_type, sealed.digest):
            return entity
        entity.legal_rep_id_type = id_type
        entity.legal_rep_id_ciphertext, entity.legal_rep_id_masked = sealed.ciphertext, sealed.masked
        entity.legal_rep_id_digest = sealed.digest
        entity.save(
            update_fields=["legal_rep_id_type", "legal_rep_id_ciphertext", "legal_rep_id_masked", "legal_rep_id_digest"]
        )
        audit_record(actor=actor, action="legalentity.legal_rep_id_recorded", target=entity, data={"type": id_type})
    return entity


def signage_evidence_add(
    *, actor: str, site: Site, taken_on: dt.date, collection_area: str, content: bytes, content_type: str
) -> SignageEvidence:
    """Keep a checked photo or document of a site's signs (encrypted), dated, with the area it shows."""
    if taken_on > timezone.localdate():
        raise ValidationError({"taken_on": _("This date cannot be in the future.")}, code="future")
    if not collection_area.strip():
        raise ValidationError({"collection_area": _("Describe the collection area the signs cover.")}, code="area")
    with transaction.atomic():
        evidence = SignageEvidence(
            site=site,
            taken_on=taken_on,
            collection_area=collection_area.strip(),
            content_type=content_type,
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        evidence.ciphertext = crypto.blob_encrypt(content, aad=evidence.aad)
        evidence.save()
        audit_record(actor=actor, action="site.signage_evidence_added", target=site, data={"sha256": evidence.sha256})
    return evidence
