"""Opening, changing, reporting and closing a security incident; every step is a timeline entry and an audit event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights.audit import audit_record
from facerights.models import User
from facerights.present import choices_text
from facerights.queues import enqueue_on_commit

from ..registry.models import ImpactAssessment, ProcessingSystem, Site
from ..registry.services import impact_assessment_flag, system_enrolments_pause
from .deadlines import report_due
from .models import ContractReview, CorrectiveAction, Incident, IncidentEvent

# What the people opening an incident may set, and how the timeline names each change.
CONTENT_FIELDS = (
    "entity",
    "summary",
    "discovered_at",
    "grade",
    "critical_infrastructure",
    "other_parties",
    "scope_unknown",
    "data_kinds",
    "affected_enrolled_from",
    "affected_enrolled_until",
    "cause",
    "measures",
    "is_drill",
)
CLOCK_FIELDS = ("discovered_at", "grade", "critical_infrastructure")
CLOCK_SKEW = dt.timedelta(minutes=2)


def incident_check(
    incident: Incident, systems: list[ProcessingSystem], sites: list[Site], *, now: dt.datetime | None = None
) -> None:
    """What an incident needs before it is saved; the admin form shows each error by its field."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if not (incident.summary or "").strip():
        errors["summary"] = _("Say what happened, in a sentence if that is all that is known.")
    if incident.discovered_at and incident.discovered_at > now + CLOCK_SKEW:
        errors["discovered_at"] = _("Discovery cannot be in the future: the report's clock starts there.")
    kinds = list(incident.data_kinds or [])
    if not kinds:
        errors["data_kinds"] = _("Tick the kinds of data involved, or “not known yet”.")
    elif not set(kinds) <= set(Incident.DataKind.values):
        errors["data_kinds"] = _("Choose kinds of data from the list.")
    if not systems and not incident.scope_unknown:
        errors["systems"] = _("Name the systems involved, or tick “systems involved not known yet”.")
    if any(system.entity_id != incident.entity_id for system in systems):
        errors["systems"] = _("Each system involved must belong to the incident's legal entity.")
    if any(site.entity_id != incident.entity_id for site in sites):
        errors["sites"] = _("Each site involved must belong to the incident's legal entity.")
    start, end = incident.affected_enrolled_from, incident.affected_enrolled_until
    if start is not None and end is not None and start > end:
        errors["affected_enrolled_until"] = _("The end of the enrolment window comes before its start.")
    if errors:
        raise ValidationError(errors)


def timeline_add(
    incident: Incident,
    *,
    actor: str,
    kind: str,
    data: dict[str, Any] | None = None,
    text: str = "",
    at: dt.datetime | None = None,
) -> None:
    """An event on the incident's timeline, with its audit event; in a transaction of its own where the caller
    has none (an escalation task records the email it sent after the sending)."""
    with transaction.atomic():
        IncidentEvent.objects.create(
            incident=incident, actor=actor, kind=kind, data=data or {}, text=text, at=at or timezone.now()
        )
        audit_record(actor=actor, action=f"incident.{kind}", target=incident, data={"state": incident.state})


def _clock(incident: Incident) -> dict[str, Any]:
    return {
        "grade": incident.grade,
        "critical_infrastructure": incident.critical_infrastructure,
        "due": incident.report_due_at.isoformat(),
    }


def _reassess_after_major(incident: Incident, systems: list[ProcessingSystem], *, actor: str, now: dt.datetime) -> None:
    """Measures Art 9: a major incident calls for a new impact assessment of the systems involved (R20).

    Called with the systems that have just become part of a major incident (all of them when
    it opens or is raised to major; those added later): each approved assessment covering
    them is flagged, and their systems enrol no one new until a new assessment is approved.
    An assessment approved after the incident is not flagged again by a later edit. A drill
    flags nothing.
    """
    if not incident.is_severe or incident.is_drill or not systems:
        return
    flagged = []
    for assessment in ImpactAssessment.objects.filter(
        systems__in=systems, state=ImpactAssessment.State.APPROVED
    ).distinct():
        impact_assessment_flag(
            actor=actor, assessment=assessment, reason=f"major security incident {incident.reference}"
        )
        flagged.append(assessment.pk)
    if flagged:
        timeline_add(incident, actor=actor, kind=IncidentEvent.Kind.REASSESSMENT, data={"assessments": flagged}, at=now)


def _contract_reviews_open(
    incident: Incident, systems: list[ProcessingSystem], *, actor: str, now: dt.datetime
) -> None:
    """PIPL Arts 21, 23: an incident involving a processor or a recipient opens a review of its contract.

    Once per system and incident; a drill opens none.
    """
    if incident.is_drill:
        return
    parties = [s for s in systems if s.kind in (ProcessingSystem.Kind.PROCESSOR, ProcessingSystem.Kind.RECIPIENT)]
    opened: list[ProcessingSystem] = []
    for system in parties:
        _review, created = ContractReview.objects.get_or_create(
            incident=incident, system=system, defaults={"opened_at": now}
        )
        if created:
            opened.append(system)
    if opened:
        timeline_add(
            incident,
            actor=actor,
            kind=IncidentEvent.Kind.CONTRACT_REVIEW,
            data={"opened": [s.pk for s in opened], "system_names": [s.name_zh for s in opened]},
            at=now,
        )


def incident_save(
    *,
    actor: str,
    incident: Incident,
    systems: Iterable[ProcessingSystem],
    sites: Iterable[Site] = (),
    user: User | None = None,
    now: dt.datetime | None = None,
) -> Incident:
    """Open an incident (a new row) or record a change to one; the report's clock runs from discovery.

    A change of grade, of critical infrastructure or of the discovery time computes the
    deadline again, but never later than it was: the clock a report was first held to stands.
    """
    now = now or timezone.now()
    systems, sites = list(systems), list(sites)
    incident_check(incident, systems, sites, now=now)
    with transaction.atomic():
        if incident.pk is None:
            incident.report_due_at = report_due(
                incident.discovered_at, incident.grade, incident.critical_infrastructure
            )
            incident.recorded_at = now
            incident.recorded_by = user
            incident.save()
            incident.systems.set(systems)
            incident.sites.set(sites)
            timeline_add(incident, actor=actor, kind=IncidentEvent.Kind.OPENED, data=_clock(incident), at=now)
            _reassess_after_major(incident, systems, actor=actor, now=now)
            _contract_reviews_open(incident, systems, actor=actor, now=now)
            enqueue_on_commit("incidents.escalate", incident.pk)  # the DPO hears of it at once
            return incident
        before = Incident.objects.select_for_update().get(pk=incident.pk)
        changed = [name for name in CONTENT_FIELDS if getattr(before, name) != getattr(incident, name)]
        before_system_ids = set(before.systems.values_list("pk", flat=True))
        if {s.pk for s in systems} != before_system_ids:
            changed.append("systems")
        if {s.pk for s in sites} != set(before.sites.values_list("pk", flat=True)):
            changed.append("sites")
        if not changed:
            return before
        if before.state == Incident.State.CLOSED:
            raise ValidationError(_("A closed incident cannot change; add a note instead."))
        if before.is_drill and not incident.is_drill or incident.is_drill and not before.is_drill:
            raise ValidationError({"is_drill": _("A drill stays a drill, and a real incident stays real.")})
        due = report_due(incident.discovered_at, incident.grade, incident.critical_infrastructure)
        incident.report_due_at = min(before.report_due_at, due)
        incident.save(update_fields=[*(n for n in CONTENT_FIELDS if n in changed), "report_due_at"])
        incident.systems.set(systems)
        incident.sites.set(sites)
        data: dict[str, Any] = {"fields": changed}
        kind = IncidentEvent.Kind.CHANGED
        if set(changed) & set(CLOCK_FIELDS):
            kind = IncidentEvent.Kind.REGRADED
            data.update(_clock(incident))
        timeline_add(incident, actor=actor, kind=kind, data=data, at=now)
        already = before_system_ids if before.is_severe and not before.is_drill else set()
        _reassess_after_major(incident, [s for s in systems if s.pk not in already], actor=actor, now=now)
        _contract_reviews_open(incident, [s for s in systems if s.pk not in before_system_ids], actor=actor, now=now)
        if incident.report_due_at < before.report_due_at:
            enqueue_on_commit("incidents.escalate", incident.pk)
    return incident


def incident_note(*, actor: str, incident: Incident, text: str) -> None:
    if not text.strip():
        raise ValidationError(_("Write the note."))
    with transaction.atomic():
        timeline_add(incident, actor=actor, kind=IncidentEvent.Kind.NOTE, text=text.strip())


def incident_report_record(
    *, actor: str, incident: Incident, reported_at: dt.datetime, channel: str, now: dt.datetime | None = None
) -> Incident:
    """Record that the report reached the authority, when and how; the timeline says whether it was on time."""
    now = now or timezone.now()
    if not channel.strip():
        raise ValidationError(
            {
                "report_channel": _(
                    "Say how it was reported (the 12387 hotline, a platform, a letter) and any receipt number."
                )
            }
        )
    if reported_at > now + CLOCK_SKEW:
        raise ValidationError({"reported_at": _("A report cannot be sent in the future.")})
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.state != Incident.State.OPEN:
            raise ValidationError(_("The report of this incident is already recorded."))
        if reported_at < incident.discovered_at:
            raise ValidationError({"reported_at": _("A report cannot come before the discovery.")})
        incident.reported_at, incident.report_channel = reported_at, channel.strip()
        incident.state = Incident.State.REPORTED
        incident.save(update_fields=["reported_at", "report_channel", "state"])
        late = reported_at - incident.report_due_at
        timeline_add(
            incident,
            actor=actor,
            kind=IncidentEvent.Kind.REPORTED,
            data={
                "reported_at": reported_at.isoformat(),
                "late_minutes": max(int(late.total_seconds() // 60), 1) if late > dt.timedelta(0) else 0,
            },
            text=incident.report_channel,
            at=now,
        )
    return incident


def incident_close(
    *, actor: str, incident: Incident, root_cause: str, review: str, now: dt.datetime | None = None
) -> Incident:
    """Close an incident once reported, with its root cause and the post-incident review."""
    now = now or timezone.now()
    errors = {}
    if not root_cause.strip():
        errors["root_cause"] = _("Give the root cause.")
    if not review.strip():
        errors["review"] = _("Give the post-incident review: what happened, what worked, what changes.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.state == Incident.State.OPEN:
            raise ValidationError(_("Record the report to the authority before closing the incident."))
        if incident.state == Incident.State.CLOSED:
            raise ValidationError(_("This incident is already closed."))
        if not incident.is_drill and not incident.actions.exists():
            raise ValidationError(_("Record the corrective actions, each with its owner and due date, before closing."))
        undecided = incident.contract_reviews.filter(outcome="").select_related("system")
        if undecided:
            raise ValidationError(
                _("Decide the contract reviews before closing: %(systems)s.")
                % {"systems": ", ".join(str(review.system) for review in undecided)}
            )
        incident.root_cause, incident.review = root_cause.strip(), review.strip()
        incident.state, incident.closed_at = Incident.State.CLOSED, now
        incident.save(update_fields=["root_cause", "review", "state", "closed_at"])
        timeline_add(
            incident,
            actor=actor,
            kind=IncidentEvent.Kind.CLOSED,
            text=incident.root_cause,
            at=now,
        )
    return incident


def incident_data_kinds_text(incident: Incident) -> str:
    return choices_text(Incident.DataKind, incident.data_kinds)


def incident_enrolments_pause(*, actor: str, incident: Incident) -> int:
    """Pause new enrolments in every system involved (the people enrolled and their deletions go on)."""
    with transaction.atomic():
        paused = [
            system_enrolments_pause(actor=actor, system=system, paused=True).pk
            for system in incident.systems.filter(enrolments_paused=False)
        ]
        if paused:
            timeline_add(incident, actor=actor, kind=IncidentEvent.Kind.PAUSED, data={"systems": paused})
    return len(paused)


def corrective_action_save(*, actor: str, action: CorrectiveAction) -> CorrectiveAction:
    """Add or update a corrective action; an incident is closed only once each has an owner and a date."""
    if not action.action.strip() or not action.owner.strip():
        raise ValidationError(_("Say what is to be done and who owns it."))
    if action.done_on and action.done_on > timezone.localdate():
        raise ValidationError({"done_on": _("This date cannot be in the future.")})
    with transaction.atomic():
        created = action.pk is None
        action.save()
        audit_record(
            actor=actor,
            action="incident.corrective_action_added" if created else "incident.corrective_action_changed",
            target=action.incident,
            data={"action": action.pk, "done": action.done_on is not None},
        )
    return action


def contract_review_decide(
    *, actor: str, review: ContractReview, outcome: str, findings: str, now: dt.datetime | None = None
) -> ContractReview:
    """Record a contract review's outcome and findings, once; a suspension pauses the system's new enrolments."""
    now = now or timezone.now()
    errors = {}
    if outcome not in ContractReview.Outcome.values:
        errors["outcome"] = _("Choose the outcome.")
    if not findings.strip():
        errors["findings"] = _("Give the findings: what the contract required, what happened, what changes.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        review = ContractReview.objects.select_for_update().select_related("incident", "system").get(pk=review.pk)
        if review.outcome:
            raise ValidationError(_("This review is already decided; add a note to the incident instead."))
        review.outcome, review.findings = outcome, findings.strip()
        review.decided_by, review.decided_at = actor, now
        review.save(update_fields=["outcome", "findings", "decided_by", "decided_at"])
        if outcome == ContractReview.Outcome.SUSPENDED and not review.system.enrolments_paused:
            system_enrolments_pause(actor=actor, system=review.system, paused=True)
        timeline_add(
            review.incident,
            actor=actor,
            kind=IncidentEvent.Kind.CONTRACT_REVIEW,
            data={"decided": review.system_id, "system_name": review.system.name_zh, "outcome": outcome},
            text=review.findings,
            at=now,
        )
    return review
