"""The DPO's workbench: CSV record exports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EvidenceExport(models.Model):  # a record export: the class keeps its first name for its table and permissions
    """A CSV of requests, consents, propagations or audit events for a date range, built in the background."""

    class Kind(models.TextChoices):
        REQUESTS = "requests", _("requests")
        CONSENTS = "consents", _("consents")
        PROPAGATIONS = "propagations", _("propagations")
        AUDIT = "audit", _("audit events")

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        READY = "ready", _("ready")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("what"), max_length=16, choices=Kind.choices)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to (inclusive)"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="+"
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED, editable=False)
    rows = models.PositiveIntegerField(_("rows"), default=0, editable=False)
    ciphertext = models.BinaryField(null=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # The column headers' language: the requester's (codes in English, labels in Chinese for zh).
    language = models.CharField(_("language"), max_length=8, default="en", editable=False)

    class Meta:
        verbose_name = _("record export (CSV)")
        verbose_name_plural = _("record exports (CSV)")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date_from}–{self.date_to}"
