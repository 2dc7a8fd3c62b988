"""The deletion ledger: deletion requests, one propagation per system, each delivery attempt, connection tests."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from consent.models import DataSubject
from facerights.models import Deadline

from ..registry.models import Holding, ProcessingSystem
from ..requests.models import Request, new_request_reference
from . import states


class DeletionRequest(Deadline):
    """An order to delete a subject's facial data from every system that holds it.

    The same ledger carries a restriction of processing (PIPL Art 44) and its lifting:
    `action` says which; every channel, retry and confirmation works the same way.

    Written with one Propagation per holding system in the same transaction;
    complete when every propagation has reached a terminal state with evidence.
    See dataops/README.md for the lifecycle.
    """

    class Trigger(models.TextChoices):
        SUBJECT_REQUEST = "subject_request", _("the person asked")
        CONSENT_WITHDRAWN = "consent_withdrawn", _("consent withdrawn")
        RETENTION_EXPIRED = "retention_expired", _("retention period ended")
        PURPOSE_FULFILLED = "purpose_fulfilled", _("purpose fulfilled")
        CONTRACT_ENDED = "contract_ended", _("processor contract ended")
        SWITCH_ALTERNATIVE = "switch_alternative", _("switched to a non-face method")
        DPO_ACTION = "dpo_action", _("decided by the data-protection officer")
        RECOGNITION_ENDED = "recognition_ended", _("face recognition ended")

    Action = states.Action

    class State(models.TextChoices):
        OPEN = "open", _("in progress")
        COMPLETED = "completed", _("completed")

    reference = models.CharField(
        _("reference"), max_length=10, unique=True, default=new_request_reference, editable=False
    )
    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="deletion_requests"
    )
    trigger = models.CharField(_("trigger"), max_length=24, choices=Trigger.choices)
    action = models.CharField(_("instruction"), max_length=20, choices=Action.choices, default=Action.DELETE)
    request = models.ForeignKey(
        Request,
        verbose_name=_("rights request"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deletion_requests",
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    created_at = models.DateTimeField(_("opened"))
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # The request id (facerights.logs) of the web request or task that opened it, so
    # every later delivery attempt logs it too and one grep tells the deletion's story.
    trace_id = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("deletion request")
        verbose_name_plural = _("deletion requests")
        indexes = [models.Index(fields=["state", "due_earliest"], name="deletion_state_due_idx")]

    def __str__(self) -> str:
        return self.reference

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


class PropagationQuerySet(models.QuerySet["Propagation"]):
    def for_people(self) -> PropagationQuerySet:
        """Instructions about people: connection tests (a synthetic subject) left out of queues and counts."""
        return self.filter(deletion_request__subject__is_synthetic=False)


class Propagation(models.Model):
    """One deletion instruction to one system, carried until the system confirms it.

    The row is the truth: Celery only carries work. Delivery is scheduled by
    next_attempt_at and claimed with a lease (claimed_until), so a lost
    message or a killed worker costs a delay, never a deletion.
    """

    State = states.State
    TERMINAL = states.TERMINAL

    # Neither has an index of its own: propagation_one_per_system and propagation_system_state_idx lead with
    # them, and each index more is written again whenever an instruction changes state.
    deletion_request = models.ForeignKey(
        DeletionRequest,
        verbose_name=_("deletion request"),
        on_delete=models.PROTECT,
        related_name="propagations",
        db_index=False,
    )
    system = models.ForeignKey(
        ProcessingSystem,
        verbose_name=_("processing system"),
        on_delete=models.PROTECT,
        related_name="propagations",
        db_index=False,
    )
    holding = models.ForeignKey(
        Holding, verbose_name=_("holding"), on_delete=models.PROTECT, related_name="propagations"
    )
    subject_key = models.CharField(_("the system's key for the person"), max_length=128)
    # Unique by a constraint (propagation_idempotency_key_unique), not unique=True, which adds a second index
    # for LIKE searches nobody makes on a key.
    idempotency_key = models.CharField(max_length=32, default=new_idempotency_key, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    feed_seq = models.PositiveBigIntegerField(null=True, blank=True)
    deadline = models.DateField(_("deadline"))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    failure_permanent = models.BooleanField(default=False)
    held_reason = models.CharField(_("reason it is held"), max_length=255, blank=True)
    evidence = models.JSONField(_("evidence"), null=True, blank=True)
    evidence_sha256 = models.CharField(_("evidence fingerprint"), max_length=64, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    # When the person was told this instruction is late (past its deadline): once, never for a
    # technical failure the DPO is still within time to fix.
    late_told_at = models.DateTimeField(_("person told it is late"), null=True, blank=True, editable=False)
    # The system's Retry-After: no attempt before this, even when its other answers bring the queue forward.
    retry_not_before = models.DateTimeField(_("not to be sent before"), null=True, blank=True, editable=False)
    manual_nonce = models.CharField(max_length=32, blank=True)
    digest = models.ForeignKey(
        "VendorDigest", on_delete=models.SET_NULL, null=True, blank=True, related_name="propagations", editable=False
    )
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    objects = PropagationQuerySet.as_manager()

    class Meta:
        verbose_name = _("propagation")
        verbose_name_plural = _("propagations")
        constraints = [
            models.UniqueConstraint(fields=["deletion_request", "system"], name="propagation_one_per_system"),
            models.UniqueConstraint(fields=["idempotency_key"], name="propagation_idempotency_key_unique"),
            models.UniqueConstraint(
                fields=["system", "feed_seq"], condition=Q(feed_seq__isnull=False), name="propagation_feed_seq_unique"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["deleted", "not_found", "held", "applied"]) | ~Q(evidence_sha256=""),
                name="propagation_outcome_has_evidence",
            ),
            models.CheckConstraint(condition=~Q(state="held") | ~Q(held_reason=""), name="propagation_held_has_reason"),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="propagation_due_idx"),
            # A delivery's claim: one system's open instructions, oldest due first. Without it, each claim
            # sorted all of the system's open rows (177 ms a claim with 100,000 open, docs/benchmarks.md).
            models.Index(
                fields=["system", "next_attempt_at", "id"],
                condition=Q(state__in=states.OPEN),
                name="propagation_claim_idx",
            ),
            models.Index(fields=["system", "state"], name="propagation_system_state_idx"),
            models.Index(fields=["deadline"], name="propagation_deadline_idx"),
            models.Index(fields=["confirmed_at"], name="propagation_confirmed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.deletion_request} → {self.system}"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.deletion_request.subject_id}"

    @property
    def is_terminal(self) -> bool:
        return self.state in states.TERMINAL


class VendorDigest(models.Model):
    """One email and one page for a vendor without an API with many deletions at once.

    When more instructions are due for a manual system than a person should get emails for
    (a cancellation, a contract's end), they join the system's open digest: the vendor gets
    one email with one single-use link, and a reminder at the system's interval, never one
    email per person. The page lists them (a CSV of keys) and confirms them together.
    """

    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="digests"
    )
    nonce = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_sent_at = models.DateTimeField(_("last emailed"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("vendor digest")
        verbose_name_plural = _("vendor digests")
        constraints = [
            models.UniqueConstraint(
                fields=["system"], condition=Q(closed_at__isnull=True), name="vendor_digest_one_open_per_system"
            )
        ]

    def __str__(self) -> str:
        return f"{self.system} #{self.pk}"


class ReconcileHold(models.Model):
    """A reconcile that would close many open instructions as not found, waiting for the DPO.

    A device's inventory is its word that it holds nothing else; a bug (an empty list, a
    wiped store reported as complete) must not be able to clear the ledger. Closing more
    than a small share of a system's open instructions in one reconcile waits here until
    the DPO confirms it (the instructions are then closed with the inventory's fingerprint
    and count as evidence) or rejects it (they stay open and are delivered again).
    """

    class State(models.TextChoices):
        WAITING = "waiting", _("waiting for the DPO")
        CONFIRMED = "confirmed", _("confirmed: closed as not found")
        REJECTED = "rejected", _("rejected: the instructions stay open")

    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="reconcile_holds"
    )
    inventory_sha256 = models.CharField(_("inventory fingerprint"), max_length=64)
    inventory_size = models.PositiveIntegerField(_("keys in the inventory"))
    open_count = models.PositiveIntegerField(_("open instructions at the time"))
    propagation_ids = models.JSONField(default=list, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.WAITING, editable=False)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)
    decided_by = models.CharField(_("decided by"), max_length=128, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("reconcile to confirm")
        verbose_name_plural = _("reconciles to confirm")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.system} · {len(self.propagation_ids)} / {self.open_count}"

    @property
    def closing(self) -> int:
        return len(self.propagation_ids)


class CallbackReceipt(models.Model):
    """A signed callback's message id, kept while its signature could still be accepted.

    A callback is signed with its id and time and accepted within five minutes of that time
    either way; an exact replay inside that window is refused because its id is here.
    """

    system = models.ForeignKey(ProcessingSystem, on_delete=models.CASCADE, related_name="+")
    message_id = models.CharField(max_length=128)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["system", "message_id"], name="callback_receipt_once"),
        ]
        indexes = [models.Index(fields=["received_at"], name="callback_receipt_time_idx")]

    def __str__(self) -> str:
        return f"{self.system_id}:{self.message_id}"


class DeliveryAttempt(models.Model):
    """One call out to a system: written before the call, completed after it."""

    class Outcome(models.TextChoices):
        IN_FLIGHT = "in_flight", _("in flight")
        CONFIRMED = "confirmed", _("confirmed")
        ACCEPTED = "accepted", _("accepted, confirmation to follow")
        TRANSIENT = "transient", _("failed, will retry")
        PERMANENT = "permanent", _("failed, needs a person")

    propagation = models.ForeignKey(
        Propagation, verbose_name=_("propagation"), on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    number = models.PositiveIntegerField(_("attempt"))
    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    http_status = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.CharField(_("error"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [models.UniqueConstraint(fields=["propagation", "number"], name="attempt_number_unique")]
        indexes = [models.Index(fields=["finished_at"], name="attempt_finished_idx")]  # the latency metrics

    def __str__(self) -> str:
        return f"#{self.number} {self.get_outcome_display()}"


class ConnectionTest(models.Model):
    """A synthetic deletion sent to a system to prove it works; it passes only when the system confirms."""

    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.CASCADE, related_name="connection_tests"
    )
    deletion_request = models.OneToOneField(
        DeletionRequest, verbose_name=_("deletion request"), on_delete=models.PROTECT, related_name="connection_test"
    )
    activate_on_pass = models.BooleanField(_("activate when it passes"), default=False)
    started_at = models.DateTimeField(_("started"))
    passed_at = models.DateTimeField(_("passed"), null=True, blank=True)
    started_by = models.CharField(_("started by"), max_length=128)

    class Meta:
        verbose_name = _("connection test")
        verbose_name_plural = _("connection tests")

    def __str__(self) -> str:
        return f"{self.system} {self.started_at:%Y-%m-%d %H:%M}"


class BulkJob(models.Model):
    """An admin action on thousands of rows, carried out by a Celery task with visible progress."""

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")

    operation = models.CharField(_("operation"), max_length=64)
    object_ids = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    actor = models.CharField(_("actor"), max_length=128)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("done"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    claimed_until = models.DateTimeField(null=True, blank=True, editable=False)  # the running worker's lease
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("bulk action")
        verbose_name_plural = _("bulk actions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.operation} {self.done}/{self.total}"

    @property
    def percent(self) -> int:
        return round(100 * (self.done + self.failed) / self.total) if self.total else 100
