"""A security incident and its timeline (R27; PIPL Art 57; the incident-reporting measures).

Nothing here is ever deleted: an incident is corrected by later events, each kept in its
timeline (`IncidentEvent`) and in the audit chain.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..registry.models import LegalEntity, ProcessingSystem, Site


def new_incident_reference() -> str:
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "INC-" + "".join(secrets.choice(alphabet) for _ in range(8))


class Incident(models.Model):
    """What happened, since when, where, to which data, how grave: and the report's clock."""

    class Grade(models.TextChoices):
        # The national grading guide (网络安全事件分级指南): four grades.
        GENERAL = "general", _("general (一般)")
        LARGER = "larger", _("larger (较大)")
        MAJOR = "major", _("major (重大)")
        ESPECIALLY_MAJOR = "especially_major", _("especially major (特别重大)")

    class State(models.TextChoices):
        OPEN = "open", _("open: not yet reported")
        REPORTED = "reported", _("reported to the authority")
        CLOSED = "closed", _("closed")

    class DataKind(models.TextChoices):
        TEMPLATES = "templates", _("face templates")
        IMAGES = "images", _("face images")
        IDENTIFIERS = "identifiers", _("identifiers (names, phone numbers, document numbers)")
        UNKNOWN = "unknown", _("not known yet")

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_incident_reference, editable=False
    )
    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="incidents"
    )
    summary = models.TextField(
        _("what happened"),
        help_text=_("Facts only, and no one's personal information: people affected are counted, never named here."),
    )
    discovered_at = models.DateTimeField(
        _("discovered"), help_text=_("When it was discovered, Beijing time: the report's clock starts here.")
    )
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        null=True,
        editable=False,
        related_name="+",
    )
    grade = models.CharField(_("grade"), max_length=20, choices=Grade.choices)
    critical_infrastructure = models.BooleanField(
        _("critical information infrastructure involved"),
        default=False,
        help_text=_("An operator of critical information infrastructure reports within 1 hour at most."),
    )
    systems = models.ManyToManyField(
        ProcessingSystem, verbose_name=_("systems involved"), blank=True, related_name="incidents"
    )
    sites = models.ManyToManyField(Site, verbose_name=_("sites involved"), blank=True, related_name="incidents")
    other_parties = models.CharField(
        _("processors or other parties involved"),
        max_length=255,
        blank=True,
        help_text=_("Those not already shown by the systems' processors."),
    )
    scope_unknown = models.BooleanField(
        _("systems involved not known yet"),
        default=False,
        help_text=_("Tick while the systems are being found out; the people affected cannot be counted until then."),
    )
    data_kinds = models.JSONField(_("kinds of data"), default=list)
    affected_enrolled_from = models.DateTimeField(
        _("people enrolled from"),
        null=True,
        blank=True,
        help_text=_("Optional: only people enrolled in the systems from this moment are affected."),
    )
    affected_enrolled_until = models.DateTimeField(_("people enrolled until"), null=True, blank=True)
    cause = models.TextField(_("cause"), blank=True)
    measures = models.TextField(_("measures taken"), blank=True)
    report_due_at = models.DateTimeField(_("report due"), editable=False)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True, editable=False)
    report_channel = models.CharField(_("reported through"), max_length=200, blank=True, editable=False)
    # Each escalation is claimed (set) before it is sent, so it goes out once; a failed send clears it again.
    told_opened_at = models.DateTimeField(_("opening: told"), null=True, blank=True, editable=False)
    told_near_at = models.DateTimeField(_("nearing deadline: told"), null=True, blank=True, editable=False)
    told_past_at = models.DateTimeField(_("past deadline: told"), null=True, blank=True, editable=False)
    is_drill = models.BooleanField(
        _("drill"), default=False, help_text=_("A rehearsal: it runs the clock but tells no one affected.")
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.OPEN, editable=False)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True, editable=False)
    root_cause = models.TextField(_("root cause"), blank=True, editable=False)
    review = models.TextField(_("post-incident review"), blank=True, editable=False)

    class Meta:
        verbose_name = _("security incident")
        verbose_name_plural = _("security incidents")
        ordering = ["-discovered_at"]
        permissions = [("decide_incident", "Can record an incident's report and close it")]
        indexes = [models.Index(fields=["state", "report_due_at"], name="incident_open_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(report_due_at__gte=models.F("discovered_at")), name="incident_due_after_discovery"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="reported") | models.Q(reported_at__isnull=False),
                name="incident_reported_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_severe(self) -> bool:
        return self.grade in (self.Grade.MAJOR, self.Grade.ESPECIALLY_MAJOR)


class IncidentEvent(models.Model):
    """One entry of an incident's timeline: opened, changed, escalated, reported, closed, a note.

    Append-only, like the audit chain, which holds an event for each (without the text).
    Its facts are kept as data and put into words when read, in the reader's language.
    """

    class Kind(models.TextChoices):
        OPENED = "opened", _("opened")
        CHANGED = "changed", _("changed")
        REGRADED = "regraded", _("grade changed")
        ESCALATED = "escalated", _("escalated")
        REPORTED = "reported", _("reported to the authority")
        NOTE = "note", _("note")
        CLOSED = "closed", _("closed")

    incident = models.ForeignKey(
        Incident, verbose_name=_("security incident"), on_delete=models.PROTECT, related_name="events"
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.CharField(_("by"), max_length=64)
    kind = models.CharField(_("what"), max_length=12, choices=Kind.choices)
    # The facts of the entry (grade, deadline, fields changed, step, channel), shown in the
    # reader's language by `timeline.event_text`; `text` is what a person wrote (a note, a root cause).
    data = models.JSONField(_("facts"), default=dict)
    text = models.TextField(_("details"), blank=True)

    class Meta:
        verbose_name = _("incident timeline entry")
        verbose_name_plural = _("incident timeline")
        ordering = ["incident", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.incident} {self.get_kind_display()}"
