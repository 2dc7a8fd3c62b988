"""Rights requests and complaints, with their legal clocks."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consent.models import DataSubject
from facerights.models import Deadline

from ..registry.models import ProcessingSystem


def new_request_reference() -> str:
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Request(Deadline):
    """A rights request or complaint, with its legal clock (R16, R17)."""

    class Type(models.TextChoices):
        ACCESS = "access", _("access: what is held about me")
        COPY = "copy", _("a copy of my data")
        CORRECTION = "correction", _("correction")
        DELETION = "deletion", _("deletion")
        RESTRICTION = "restriction", _("restriction of processing")
        RESTRICTION_LIFT = "restriction_lift", _("lifting a restriction of processing")
        EXPLANATION = "explanation", _("explanation of the processing rules")
        WITHDRAWAL = "withdrawal", _("withdrawal of consent")
        ACCOUNT_CLOSURE = "account_closure", _("closing my account")
        DECEASED_RELATIVE = "deceased_relative", _("acting for a deceased close relative")
        SWITCH_ALTERNATIVE = "switch_alternative", _("switching to a non-face method")
        COMPLAINT = "complaint", _("complaint")

    class ActedBy(models.TextChoices):
        SUBJECT = "subject", _("the person themself")
        GUARDIAN = "guardian", _("a parent or guardian")
        RELATIVE = "relative", _("a close relative of a deceased person")
        STAFF = "staff", _("staff, on the person's behalf")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("the portal")
        DESK = "desk", _("at a front desk")
        PHONE = "phone", _("by phone")
        LETTER = "letter", _("by letter, or in person at the office")
        WEB_FORM = "web_form", _("the complaint form, without an account")

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        REFUSED = "refused", _("refused")  # always with a reason the subject sees (PIPL Art 50)
        CANCELLED = "cancelled", _("cancelled by the requester")

    OPEN_STATES = (State.RECEIVED, State.IN_PROGRESS)
    # The requests that change something at once (a deletion, a switch, a restriction or its lifting):
    # made for someone by staff, only once their identity was checked.
    ACTING_TYPES = (Type.DELETION, Type.SWITCH_ALTERNATIVE, Type.RESTRICTION, Type.RESTRICTION_LIFT)
    # What staff can record for a person (at a desk, from a call or a letter); a withdrawal at the
    # desk is its own button, one per consent.
    ASSISTED_TYPES = (
        Type.DELETION,
        Type.COPY,
        Type.ACCESS,
        Type.CORRECTION,
        Type.SWITCH_ALTERNATIVE,
        Type.RESTRICTION,
        Type.RESTRICTION_LIFT,
        Type.EXPLANATION,
        Type.COMPLAINT,
    )

    reference = models.CharField(
        _("reference"), max_length=10, unique=True, default=new_request_reference, editable=False
    )
    incident = models.ForeignKey(
        "dataops.Incident",
        verbose_name=_("about the security incident"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
        help_text=_("When the person asks about an incident they were told of."),
    )
    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="requests"
    )
    type = models.CharField(_("type"), max_length=24, choices=Type.choices)
    acted_by = models.CharField(_("made by"), max_length=16, choices=ActedBy.choices, default=ActedBy.SUBJECT)
    acting_subject = models.ForeignKey(
        DataSubject,
        verbose_name=_("made by (person)"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests_made_for_others",
    )
    system = models.ForeignKey(
        ProcessingSystem,
        verbose_name=_("processing system"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="requests",
    )
    entity = models.ForeignKey(
        "dataops.LegalEntity",
        verbose_name=_("made to"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The company the request was made to, when it was made to one (at its desk, by phone or letter)."),
    )
    channel = models.CharField(_("received through"), max_length=12, choices=Channel.choices, default=Channel.PORTAL)
    # A keyed hash of the reference and the lookup code printed on a receipt: with both, anyone
    # holding the slip can follow the request without an account (never the code itself).
    lookup_hash = models.CharField(max_length=64, blank=True, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED)
    received_at = models.DateTimeField(_("received"))
    # The working days the clock was set with (the policy may change later; a recomputation keeps them).
    response_working_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    dpo_alerted_at = models.DateTimeField(
        _("DPO alerted (two thirds of the time gone)"), null=True, blank=True, editable=False
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    refusal_reason_code = models.CharField(
        _("refusal reason"),
        max_length=32,
        blank=True,
        choices=[
            ("identity_unverified", _("identity could not be verified")),
            ("legal_retention", _("a law requires the data to be kept")),
            ("not_held", _("no data is held about you")),
            ("manifestly_unfounded", _("the request is manifestly unfounded or excessive")),
            ("other_legal_basis", _("another legal basis applies")),
        ],
    )
    refusal_text = models.TextField(_("refusal explanation"), blank=True)
    details_ciphertext = models.BinaryField(null=True, editable=False)  # what the person wrote, encrypted
    extended_to = models.DateField(_("extended to"), null=True, blank=True)
    extension_reason = models.CharField(_("why it was extended"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        permissions = [("refuse_request", _("Can refuse requests"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="refused") | (~Q(refusal_reason_code="") & ~Q(refusal_text="")),
                name="request_refusal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "due_earliest"], name="request_state_due_idx"),
            models.Index(fields=["acknowledged_at", "received_at"], name="request_ack_idx"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"


class ResponseTimePolicy(models.Model):
    """How many PRC working days a request type is answered within (default 15, R17)."""

    request_type = models.CharField(_("request type"), max_length=24, choices=Request.Type.choices, unique=True)
    working_days = models.PositiveSmallIntegerField(
        _("working days"), validators=[MinValueValidator(1), MaxValueValidator(30)]
    )

    class Meta:
        verbose_name = _("response time")
        verbose_name_plural = _("response times")

    def __str__(self) -> str:
        return f"{self.get_request_type_display()}: {self.working_days}"
