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
        REASSESSMENT = "reassessment", _("impact assessments flagged")
        PAUSED = "paused", _("enrolments paused")
        KEYS = "keys", _("affected keys uploaded")
        CONTRACT_REVIEW = "contract_review", _("contract review")
        NOTE = "note", _("note")
        CLOSED = "closed", _("closed")

    incident = models.ForeignKey(
        Incident, verbose_name=_("security incident"), on_delete=models.PROTECT, related_name="events"
    )
    at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.CharField(_("by"), max_length=64)
    kind = models.CharField(_("what"), max_length=16, choices=Kind.choices)
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


def new_notice_reference() -> str:
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(12))


class IncidentNotice(models.Model):
    """The notice to the people affected, with PIPL Art 57's contents in Chinese and English.

    Drafted from the incident, approved by the DPO (and a second person for a major or
    especially major incident), then sent; or published as an announcement where telling
    each person is impracticable. Its public page (`/notices/<reference>/`) holds no one's data.
    """

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        APPROVED = "approved", _("approved, not sent")
        SENDING = "sending", _("sent to the people affected")

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_notice_reference, editable=False
    )
    incident = models.ForeignKey(
        Incident, verbose_name=_("security incident"), on_delete=models.PROTECT, related_name="notices"
    )
    cause_zh = models.TextField(_("cause (Chinese)"), blank=True)
    cause_en = models.TextField(_("cause (English)"), blank=True)
    harm_zh = models.TextField(_("possible harm (Chinese)"), blank=True)
    harm_en = models.TextField(_("possible harm (English)"), blank=True)
    remedies_zh = models.TextField(_("remedies taken (Chinese)"), blank=True)
    remedies_en = models.TextField(_("remedies taken (English)"), blank=True)
    advice_zh = models.TextField(_("what the person can do (Chinese)"), blank=True)
    advice_en = models.TextField(_("what the person can do (English)"), blank=True)
    contact_zh = models.TextField(_("how to contact us (Chinese)"), blank=True)
    contact_en = models.TextField(_("how to contact us (English)"), blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT, editable=False)
    approved_by = models.CharField(_("approved by"), max_length=64, blank=True, editable=False)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True, editable=False)
    second_approved_by = models.CharField(_("second approval by"), max_length=64, blank=True, editable=False)
    second_approved_at = models.DateTimeField(_("second approval"), null=True, blank=True, editable=False)
    sent_at = models.DateTimeField(_("sending started"), null=True, blank=True, editable=False)
    published_at = models.DateTimeField(
        _("published as an announcement"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("Where telling each person is impracticable, the notice is also a public announcement."),
    )

    class Meta:
        verbose_name = _("incident notice")
        verbose_name_plural = _("incident notices")
        ordering = ["-pk"]

    def __str__(self) -> str:
        return f"{self.incident.reference} · {self.reference}"


class NoticeDelivery(models.Model):
    """One person told one notice by one channel: claimed before it is sent, so never twice.

    The portal row is the notice shown on the person's "Security notices" page. A child's
    notice goes to their verified guardian (`as_guardian`).
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("email")
        SMS = "sms", _("SMS")
        PORTAL = "portal", _("portal")

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENT = "sent", _("sent")
        REHEARSED = "rehearsed", _("drill: recorded, not sent")
        FAILED = "failed", _("could not be sent: for the DPO")

    notice = models.ForeignKey(
        IncidentNotice, verbose_name=_("incident notice"), on_delete=models.PROTECT, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        "consent.DataSubject", verbose_name=_("person told"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    as_guardian = models.BooleanField(_("told as a child's guardian"), default=False)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("notice delivery")
        verbose_name_plural = _("notice deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notice", "recipient", "channel"], name="notice_once_per_person_channel")
        ]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="notice_delivery_due")]

    def __str__(self) -> str:
        return f"{self.notice} {self.channel}"


class IncidentReport(models.Model):
    """A report to the authority (first, follow-up or closing): its facts frozen with their fingerprint and signature.

    Each generation is a new version; none changes after it is made, and the time one
    was sent is recorded once (the report's deadline is met or missed by that time).
    """

    class Kind(models.TextChoices):
        INITIAL = "initial", _("first report")
        FOLLOW_UP = "follow_up", _("follow-up report")
        CLOSING = "closing", _("closing report")

    incident = models.ForeignKey(
        Incident, verbose_name=_("security incident"), on_delete=models.PROTECT, related_name="reports"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    version = models.PositiveSmallIntegerField(_("version"))
    facts = models.JSONField(_("facts"))
    fingerprint = models.CharField(_("fingerprint (SHA-256)"), max_length=64)
    signature = models.CharField(_("signature"), max_length=200)
    pdf = models.BinaryField()
    generated_at = models.DateTimeField(_("generated"), default=timezone.now)
    generated_by = models.CharField(_("generated by"), max_length=64)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    sent_through = models.CharField(_("sent through"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("incident report")
        verbose_name_plural = _("incident reports")
        ordering = ["incident", "generated_at"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind", "version"], name="incident_report_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.incident.reference} · {self.get_kind_display()} v{self.version}"


class CorrectiveAction(models.Model):
    """Something to change after an incident, with who owns it and by when; done when it is done."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("security incident"), on_delete=models.PROTECT, related_name="actions"
    )
    action = models.CharField(_("corrective action"), max_length=255)
    owner = models.CharField(_("owner"), max_length=100, help_text=_("A role or a team, rather than a person's name."))
    due_on = models.DateField(_("due"))
    done_on = models.DateField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        ordering = ["incident", "due_on", "pk"]

    def __str__(self) -> str:
        return self.action


class AffectedKeyList(models.Model):
    """The keys a system's vendor says were exposed: it narrows who is affected in that system.

    Each upload is kept; the latest for a system is the one that counts. Keys the registry
    does not know are counted at upload, so the DPO sees who cannot be told individually.
    """

    incident = models.ForeignKey(
        Incident, verbose_name=_("security incident"), on_delete=models.PROTECT, related_name="key_lists"
    )
    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    uploaded_by = models.CharField(_("uploaded by"), max_length=64)
    sha256 = models.CharField(_("file fingerprint (SHA-256)"), max_length=64)
    keys_count = models.PositiveIntegerField(_("keys"))
    matched = models.PositiveIntegerField(_("keys the registry knows"))

    class Meta:
        verbose_name = _("list of affected keys")
        verbose_name_plural = _("lists of affected keys")
        ordering = ["incident", "-uploaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.incident.reference} · {self.system}"


class AffectedKey(models.Model):
    key_list = models.ForeignKey(AffectedKeyList, on_delete=models.CASCADE, related_name="keys")
    subject_key = models.CharField(max_length=128)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_list", "subject_key"], name="affected_key_once")]

    def __str__(self) -> str:
        return self.subject_key


class ContractReview(models.Model):
    """An incident involving a processor or a recipient opens a review of its contract (PIPL Arts 21, 23).

    Open until the DPO records its outcome; an incident is not closed while one is open.
    """

    class Outcome(models.TextChoices):
        KEPT = "kept", _("contract kept as it is")
        AMENDED = "amended", _("contract amended")
        SUSPENDED = "suspended", _("processing suspended until remedied")
        ENDED = "ended", _("contract to be ended")

    incident = models.ForeignKey(
        Incident, verbose_name=_("security incident"), on_delete=models.PROTECT, related_name="contract_reviews"
    )
    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened"), default=timezone.now, editable=False)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    findings = models.TextField(
        _("findings"),
        blank=True,
        help_text=_("What the contract required, what the processor did, and what changes (PIPL Art 21)."),
    )
    decided_by = models.CharField(_("decided by"), max_length=64, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("contract review")
        verbose_name_plural = _("contract reviews after incidents")
        ordering = ["-opened_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["incident", "system"], name="contract_review_once")]

    def __str__(self) -> str:
        return f"{self.incident.reference} · {self.system}"
