"""State changes of the registry, the inventory and requests.

Every function is keyword-only, runs in one transaction, writes its audit
event in that transaction and is safe to call twice.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentEvent, ConsentRecord, DataSubject, Notice
from facerights import crypto
from facerights.audit import audit_record
from facerights.celery import enqueue_on_commit
from facerights.services import content_fields
from facerights.workdays import CalendarYearUnknown, add_working_days

from .models import Holding, ImpactAssessment, ProcessingSystem, Request, ResponseTimePolicy


class TransitionError(ValidationError):
    """A state change that is not allowed from the current state."""


# --- Processing systems ------------------------------------------------------------

# A change to any of these changes how faces are processed: the assessment
# must be redone (Measures Art 9) and consents renewed (PIPL Art 14, R7).
METHOD_FIELDS = ("recognition", "keeps_template", "keeps_image", "storage_location", "internet_transmission")


def system_save(*, actor: str, system: ProcessingSystem, purposes=None) -> ProcessingSystem:
    """Create or change a system's registry entry.

    A change of method or storage flags the system's approved assessments for
    reassessment and asks every current consent to be renewed; a change of
    purposes flags the assessments.
    """
    with transaction.atomic():
        before = None if system._state.adding else ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        purposes_before = set(before.purposes.values_list("pk", flat=True)) if before else set()
        system.full_clean(exclude=["purposes"])
        if before is None:
            system.save()
        else:
            system.status = before.status  # the status has its own services
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
        if method_changed:
            _consents_require_renewal(actor=actor, system=system)
    return system


def _consents_require_renewal(*, actor: str, system: ProcessingSystem) -> None:
    now = timezone.now()
    for record in system.consents.select_for_update().filter(state=ConsentRecord.State.ACTIVE):
        record.state = ConsentRecord.State.NEEDS_RECONSENT
        record.save(update_fields=["state"])
        ConsentEvent.objects.create(record=record, kind=ConsentEvent.Kind.RECONSENT_REQUIRED, at=now, actor=actor)
        audit_record(actor=actor, action="consent.reconsent_required", target=record, data={"system": system.pk})


def system_activation_problems(system: ProcessingSystem) -> list[str]:
    """Why a system may not be activated yet (empty when it may)."""
    problems = []
    if not system.assessments.filter(state=ImpactAssessment.State.APPROVED).exists():
        problems.append(_("It needs an approved impact assessment (Measures Art 9)."))
    if system.verifies_identity and not system.alternatives:
        problems.append(
            _("It verifies identity, so it must offer at least one non-face alternative (Measures Art 10).")
        )
    if not system.notices.filter(status=Notice.Status.PUBLISHED).exists():
        problems.append(_("It needs a published notice before anyone can consent (Measures Art 5)."))
    if not system.purposes.exists():
        problems.append(_("It needs at least one purpose."))
    from .health import connection_test_passed

    if not connection_test_passed(system):
        problems.append(_("It needs a passed connection test: a synthetic deletion it has confirmed."))
    return problems


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
    with transaction.atomic():
        system = ProcessingSystem.objects.select_for_update().get(pk=system.pk)
        if system.status == ProcessingSystem.Status.RETIRED:
            return system
        return _system_set_status(actor, system, ProcessingSystem.Status.RETIRED)


def _system_set_status(actor: str, system: ProcessingSystem, status: str) -> ProcessingSystem:
    previous = system.status
    system.status = status
    system.save(update_fields=["status"])
    audit_record(actor=actor, action=f"system.{status}", target=system, data={"from": previous})
    return system


# --- Impact assessments --------------------------------------------------------------

ASSESSMENT_RETENTION_DAYS = 3 * 366  # at least three years (Measures Art 9, PIPL Art 56)


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
        if reviewer:
            assessment.reviewer = reviewer
        assessment.save(update_fields=["approved_at", "approved_by", "reassessment_reason", "reviewer"])
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
    return assessment


def _assessment_move(actor, assessment, *, to, allowed_from, data=None) -> ImpactAssessment:
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


def impact_assessment_deletable(assessment: ImpactAssessment, *, today: dt.date | None = None) -> bool:
    """Never approved, or approved more than three years ago."""
    if assessment.approved_at is None:
        return assessment.state == ImpactAssessment.State.DRAFT
    today = today or timezone.localdate()
    return (today - timezone.localdate(assessment.approved_at)).days > ASSESSMENT_RETENTION_DAYS


def impact_assessment_delete(*, actor: str, assessment: ImpactAssessment) -> None:
    with transaction.atomic():
        if not impact_assessment_deletable(assessment):
            raise TransitionError(
                _("An assessment is kept for at least three years after approval (Measures Art 9)."), code="retained"
            )
        audit_record(actor=actor, action="assessment.deleted", target=assessment)
        assessment.delete()


# --- Holdings ------------------------------------------------------------------------


def holding_record(
    *,
    actor: str,
    subject: DataSubject,
    system: ProcessingSystem,
    subject_key: str,
    data_kind: str,
    consent: ConsentRecord | None,
    enrolled_at: dt.datetime | None = None,
) -> Holding:
    """Record that a system holds a subject's facial data under its pseudonymous key (safe to repeat)."""
    enrolled_at = enrolled_at or timezone.now()
    with transaction.atomic():
        existing = Holding.objects.filter(system=system, subject_key=subject_key).first()
        if existing is not None:
            if existing.subject_id != subject.pk:
                raise ValidationError(_("The system already uses this key for another person."), code="key_taken")
            return existing
        if consent is not None and (consent.subject_id != subject.pk or consent.system_id != system.pk):
            raise ValidationError(_("The consent belongs to another person or system."), code="consent_mismatch")
        holding = Holding.objects.create(
            subject=subject,
            system=system,
            subject_key=subject_key,
            data_kind=data_kind,
            consent=consent,
            enrolled_at=enrolled_at,
            retention_until=timezone.localdate(enrolled_at) + dt.timedelta(days=system.retention_days),
        )
        audit_record(actor=actor, action="holding.recorded", target=holding, data={"system": system.pk})
    return holding


# --- Requests ------------------------------------------------------------------------


def request_response_days(request_type: str) -> int:
    policy = ResponseTimePolicy.objects.filter(request_type=request_type).first()
    return policy.working_days if policy else settings.FACERIGHTS_RESPONSE_WORKING_DAYS


def request_due_date(received_on: dt.date, request_type: str) -> tuple[dt.date, bool]:
    """The due date in PRC working days, never later than the calendar-day ceiling.

    When the holiday schedule of a year in the period is not known yet, the
    working-day service refuses to guess; the request still gets a due date:
    the earliest the true one could be (each working day is at least one
    calendar day), marked provisional (docs/legal-readings.md).
    """
    days = request_response_days(request_type)
    ceiling = received_on + dt.timedelta(days=settings.FACERIGHTS_RESPONSE_MAX_CALENDAR_DAYS)
    try:
        return min(add_working_days(received_on, days), ceiling), False
    except CalendarYearUnknown:
        return received_on + dt.timedelta(days=days), True


def request_submit(
    *,
    actor: str,
    subject: DataSubject,
    type: str,
    acted_by: str = Request.ActedBy.SUBJECT,
    acting_subject: DataSubject | None = None,
    system: ProcessingSystem | None = None,
    received_at: dt.datetime | None = None,
    details: str = "",
) -> Request:
    """Open a request with its legal clock; it is acknowledged by a task after commit."""
    from .tasks import request_acknowledge_task

    received_at = received_at or timezone.now()
    if acted_by != Request.ActedBy.SUBJECT and acted_by != Request.ActedBy.STAFF and acting_subject is None:
        raise ValidationError(_("A request made for someone else names who made it."), code="acting_subject")
    with transaction.atomic():
        due_on, provisional = request_due_date(timezone.localdate(received_at), type)
        request = Request.objects.create(
            subject=subject,
            type=type,
            acted_by=acted_by,
            acting_subject=acting_subject,
            system=system,
            received_at=received_at,
            due_on=due_on,
            due_on_provisional=provisional,
        )
        if details.strip():
            request.details_ciphertext = crypto.secret_encrypt(details.strip(), aad=_details_aad(request))
            request.save(update_fields=["details_ciphertext"])
        audit_record(
            actor=actor,
            action="request.received",
            target=request,
            data={"type": type, "due_on": due_on.isoformat(), "acted_by": acted_by},
        )
        enqueue_on_commit(request_acknowledge_task, request.pk)
    return request


def _details_aad(request: Request) -> bytes:
    return f"facerights:request-details:{request.reference}".encode()


def request_details(request: Request) -> str:
    """What the person wrote with the request, decrypted for them or for the DPO."""
    if not request.details_ciphertext:
        return ""
    return crypto.secret_decrypt(request.details_ciphertext, aad=_details_aad(request))


def request_acknowledge(*, request_id: int, actor: str = "system") -> Request | None:
    """Record, and tell the person, that the request was received (safe to repeat)."""
    from .notify import request_notify

    with transaction.atomic():
        request = Request.objects.select_for_update().filter(pk=request_id).first()
        if request is None or request.acknowledged_at is not None:
            return request
        request.acknowledged_at = timezone.now()
        request.save(update_fields=["acknowledged_at"])
        audit_record(actor=actor, action="request.acknowledged", target=request)
        transaction.on_commit(lambda: request_notify(request.pk, "received"))
    return request


def _request_locked(request: Request) -> Request:
    return Request.objects.select_for_update().get(pk=request.pk)


def request_refuse(*, actor: str, request: Request, reason_code: str, text: str) -> Request:
    """Refuse a request; the person sees the reason and where to complain (PIPL Art 50, R18)."""
    from .notify import request_notify

    valid_codes = {code for code, _label in Request._meta.get_field("refusal_reason_code").choices}
    if reason_code not in valid_codes or not text.strip():
        raise ValidationError(_("A refusal needs a reason code and an explanation the person can read."), code="reason")
    with transaction.atomic():
        request = _request_locked(request)
        if request.state == Request.State.REFUSED:
            return request
        if request.state not in Request.OPEN_STATES:
            raise TransitionError(_("Only an open request can be refused."), code="closed")
        request.state = Request.State.REFUSED
        request.refusal_reason_code = reason_code
        request.refusal_text = text.strip()
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "refusal_reason_code", "refusal_text", "closed_at"])
        audit_record(actor=actor, action="request.refused", target=request, data={"reason_code": reason_code})
        transaction.on_commit(lambda: request_notify(request.pk, "refused"))
    return request


def request_extend(*, actor: str, request: Request, until: dt.date, reason: str) -> Request:
    """Move the due date later, with a reason the person is told; at most 30 more calendar days."""
    from .notify import request_notify

    if not reason.strip():
        raise ValidationError(_("Tell the person why the request needs more time."), code="reason")
    with transaction.atomic():
        request = _request_locked(request)
        if request.state not in Request.OPEN_STATES:
            raise TransitionError(_("Only an open request can be extended."), code="closed")
        if not request.due_on < until <= request.due_on + dt.timedelta(days=30):
            raise ValidationError(
                _("The new date must be later than the current one, by at most 30 days."), code="date"
            )
        request.extended_to = until
        request.due_on = until
        request.extension_reason = reason.strip()[:255]
        request.save(update_fields=["extended_to", "due_on", "extension_reason"])
        audit_record(actor=actor, action="request.extended", target=request, data={"until": until.isoformat()})
        transaction.on_commit(lambda: request_notify(request.pk, "extended"))
    return request


def request_complete(*, actor: str, request: Request) -> Request:
    from .notify import request_notify

    with transaction.atomic():
        request = _request_locked(request)
        if request.state == Request.State.COMPLETED:
            return request
        if request.state not in Request.OPEN_STATES:
            raise TransitionError(_("Only an open request can be completed."), code="closed")
        request.state = Request.State.COMPLETED
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "closed_at"])
        audit_record(actor=actor, action="request.completed", target=request)
        transaction.on_commit(lambda: request_notify(request.pk, "completed"))
    return request
