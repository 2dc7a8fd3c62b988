from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from .due import Due


class User(AbstractUser):
    """An account: a data subject, a guardian, a DPO, an operator, an auditor or a regulator.

    What the account may do comes from its groups (facerights.roles) and, for a
    data subject, from the DataSubject linked to it. A phone number used to
    sign in is kept like every identifier: encrypted, with a keyed hash to
    find it (facerights.crypto).
    """

    phone_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    phone_ciphertext = models.BinaryField(null=True, blank=True, editable=False)
    phone_verified = models.BooleanField(_("phone verified"), default=False)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # noqa: ARG002
        raise TypeError("Audit events are append-only.")

    def delete(self):
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One step in an append-only, hash-chained log.

    Each row carries the hash of the row before it in the same chain. Chains
    are per data subject ("subject:<id>") plus one for the registry, so
    concurrent writers only queue behind writers on the same subject.
    Written by facerights.audit.audit_record, inside the transaction of the
    change it records; checked by `manage.py verify_audit_chain`.
    """

    chain = models.CharField(_("chain"), max_length=64)
    seq = models.PositiveBigIntegerField(_("sequence"))
    at = models.DateTimeField(_("time"))
    actor = models.CharField(_("actor"), max_length=128)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        constraints = [models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq_unique")]
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            models.Index(fields=["at"], name="audit_event_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit events are append-only.")


class AuditChainHead(models.Model):
    """The last sequence number and hash of each chain.

    Its row is the lock writers of one chain take (SELECT ... FOR UPDATE), and
    it lets verification notice a deleted tail.
    """

    chain = models.CharField(max_length=64, primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("audit chain head")
        verbose_name_plural = _("audit chain heads")

    def __str__(self) -> str:
        return f"{self.chain}#{self.seq}"


class Deadline(models.Model):
    """A legal deadline in PRC working days: firm, or provisional with the earliest date it can turn out to be.

    `due_on` is the deadline (the estimate, while a year it crosses has no published
    schedule); `due_earliest` is what alerts and overdue checks use (facerights.workdays).
    """

    due_on = models.DateField(_("due"))
    due_earliest = models.DateField(
        _("due no earlier than"),
        help_text=_("The earliest the deadline can turn out to be; the same date once it is firm."),
    )
    due_on_provisional = models.BooleanField(
        _("due date provisional"),
        default=False,
        help_text=_("A year in the period has no published holiday schedule yet: the date is an estimate."),
    )

    class Meta:
        abstract = True

    @property
    def due(self) -> Due:
        return Due(on=self.due_on, earliest=self.due_earliest, provisional=self.due_on_provisional)

    def due_set(self, due: Due) -> None:
        self.due_on, self.due_earliest, self.due_on_provisional = due.on, due.earliest, due.provisional


class CalendarYear(models.Model):
    """A year of the State Council's holiday schedule entered by hand.

    When a year is marked complete, its CalendarDay rows are authoritative for
    it: a weekday is a working day unless listed as a holiday, and a weekend
    day is a rest day unless listed as a make-up working day (调休).
    """

    year = models.PositiveSmallIntegerField(_("year"), primary_key=True)
    is_complete = models.BooleanField(
        _("complete"),
        default=False,
        help_text=_("Tick once every holiday and make-up working day of the year is entered."),
    )
    source = models.CharField(_("source"), max_length=255, blank=True, help_text=_("The State Council notice."))

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class CalendarDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("public holiday (rest day)")
        WORKDAY = "workday", _("make-up working day (调休)")

    date = models.DateField(_("date"), primary_key=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()}"


class Heartbeat(models.Model):
    """The last sign of life of a Celery worker or of beat, written by the process itself.

    Each worker and beat process writes its row every FACERIGHTS_HEARTBEAT_SECONDS
    from a thread (facerights.liveness); the DPO dashboard and /metrics flag a
    row that has gone quiet. A worker that stops cleanly marks itself stopped.
    """

    class Kind(models.TextChoices):
        WORKER = "worker", _("worker")
        BEAT = "beat", _("scheduler (beat)")

    name = models.CharField(_("name"), max_length=128, primary_key=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    detail = models.CharField(_("queues"), max_length=255, blank=True)
    pid = models.PositiveIntegerField(_("process id"))
    started_at = models.DateTimeField(_("started"))
    last_seen_at = models.DateTimeField(_("last seen"))
    interval_seconds = models.PositiveIntegerField(_("beats every (s)"), default=30)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name
