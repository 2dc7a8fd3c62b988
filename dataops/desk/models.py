"""The front desk: clerks scoped to one legal entity, and each visit of a person they serve.

A visit records how the person was found (never the value they presented) and how their
identity was checked without a face: a document seen (its type and last four characters,
never a scan) or a one-time code sent to the phone on record. Nothing here lets a clerk
browse people: a visit starts from what the person presents and ends after a short time.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.models import DataSubject

from ..registry.models import LegalEntity, Site
from ..requests.models import Request

VISIT_MINUTES = 30  # a visit is for the person at the counter, now


class DeskClerk(models.Model):
    """A front-desk account: one legal entity's counters; no admin, no browsing."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="desk_clerk"
    )
    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="desk_clerks"
    )
    site = models.ForeignKey(
        Site,
        verbose_name=_("site"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="desk_clerks",
        help_text=_("The counter's site, printed on receipts."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("front-desk clerk")
        verbose_name_plural = _("front-desk clerks")

    def __str__(self) -> str:
        return self.user.get_username()


class DeskVisit(models.Model):
    """One person served at the desk: how they were found, how their identity was checked, what they asked."""

    class FoundBy(models.TextChoices):
        PHONE = "phone", _("phone number")
        SYSTEM_KEY = "system_key", _("a system's key on their card")
        NAME_BIRTH = "name_birth", _("name and date of birth")

    class Identity(models.TextChoices):
        DOCUMENT = "document", _("identity document seen")
        SMS_CODE = "sms_code", _("one-time code to the phone on record")

    class Document(models.TextChoices):
        RESIDENT_ID = "resident_id", _("resident identity card")
        PASSPORT = "passport", _("passport")
        HK_MACAO = "hk_macao", _("Mainland travel permit for Hong Kong and Macao residents")
        TAIWAN = "taiwan", _("Mainland travel permit for Taiwan residents")
        FOREIGN_PR = "foreign_pr", _("foreign permanent resident ID card")
        OTHER = "other", _("other official document")

    clerk = models.ForeignKey(DeskClerk, verbose_name=_("clerk"), on_delete=models.PROTECT, related_name="visits")
    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="+", editable=False
    )
    found_by = models.CharField(_("found by"), max_length=12, choices=FoundBy.choices, editable=False)
    started_at = models.DateTimeField(_("started"), default=timezone.now, editable=False)
    identity = models.CharField(_("identity checked by"), max_length=10, choices=Identity.choices, blank=True)
    document_type = models.CharField(_("document"), max_length=12, choices=Document.choices, blank=True)
    document_last4 = models.CharField(_("last four characters"), max_length=4, blank=True)
    verified_at = models.DateTimeField(_("identity checked"), null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True, editable=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    requests = models.ManyToManyField(Request, verbose_name=_("requests made"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("front-desk visit")
        verbose_name_plural = _("front-desk visits")
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(verified_at__isnull=True) | ~models.Q(identity=""), name="desk_visit_verified_how"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.clerk} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def ends_at(self) -> dt.datetime:
        return self.started_at + dt.timedelta(minutes=VISIT_MINUTES)

    def is_open(self, now: dt.datetime | None = None) -> bool:
        return self.ended_at is None and (now or timezone.now()) < self.ends_at
