"""Copies of a person's data (PIPL Art 45)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from consent.models import DataSubject

from ..requests.models import Request


class DataExport(models.Model):
    """A copy of a subject's data (PIPL Art 45): a ZIP of JSON and a readable PDF, built in the background.

    The file is encrypted at rest, downloadable only by the account that asked
    for it, and only until it expires. It never contains a face image or template.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        BUILDING = "building", _("being prepared")
        READY = "ready", _("ready to download")
        EXPIRED = "expired", _("expired")
        FAILED = "failed", _("failed")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.CASCADE, related_name="exports"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="exports"
    )
    request = models.ForeignKey(
        Request, verbose_name=_("rights request"), on_delete=models.PROTECT, related_name="exports"
    )
    language = models.CharField(max_length=8, default="zh-hans")
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    ciphertext = models.BinaryField(null=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("copy of data")
        verbose_name_plural = _("copies of data")

    def __str__(self) -> str:
        return f"{self.subject} {self.created_at:%Y-%m-%d}"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"
