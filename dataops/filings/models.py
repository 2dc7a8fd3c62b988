"""Filings with the cyberspace administration: the daily count, obligations, filings, documents, attachments,
change reviews, and the regulator accounts that receive them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from facerights import crypto
from facerights.models import Deadline

from ..registry.identity import IdDocumentType
from ..registry.models import LegalEntity
from ..registry.provinces import Province


class PersonCount(models.Model):
    """How many distinct people's facial information a legal entity stores, counted once a day.

    A person held by five systems counts once; completed deletions drop out;
    synthetic connection-test subjects never count (Measures Art 15; R21).
    """

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.CASCADE, related_name="person_counts"
    )
    date = models.DateField(_("date"))
    persons = models.PositiveIntegerField(_("persons"))

    class Meta:
        verbose_name = _("stored persons count")
        verbose_name_plural = _("stored persons counts")
        constraints = [models.UniqueConstraint(fields=["entity", "date"], name="person_count_one_a_day")]
        ordering = ["entity", "date"]

    def __str__(self) -> str:
        return f"{self.entity} {self.date}: {self.persons}"


class FilingObligation(Deadline):
    """A duty to file with the provincial cyberspace administration within 30 working days (Measures Art 15)."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("initial filing (100,000 people reached)")
        CHANGE = "change", _("change filing (substantive change)")
        CANCELLATION = "cancellation", _("cancellation filing (face recognition ended)")
        PIPO_REPORT = "pipo_report", _("officer report to the city cyberspace administration (1,000,000 people)")
        COMPLIANCE_AUDIT = "audit", _("compliance audit (more than 10,000,000 people, every two years)")

    FILED = (Kind.INITIAL, Kind.CHANGE, Kind.CANCELLATION)  # fulfilled by a Filing; the others are recorded

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="filing_obligations"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    triggered_on = models.DateField(_("arose on"))
    fulfilled_at = models.DateTimeField(_("filed"), null=True, blank=True)
    fulfilled_reference = models.CharField(
        _("reference"), max_length=200, blank=True, help_text=_("The report's receipt number, or the audit report.")
    )

    class Meta:
        verbose_name = _("filing obligation")
        verbose_name_plural = _("filing obligations")
        ordering = ["due_on"]

    def __str__(self) -> str:
        return f"{self.entity} · {self.get_kind_display()} · {self.due_on}"


class Filing(models.Model):
    """One filing (备案) of one entity: draft, reviewed, submitted, acknowledged. A submitted filing never changes."""

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        REVIEWED = "reviewed", _("reviewed")
        SUBMITTED = "submitted", _("submitted")
        ACKNOWLEDGED = "acknowledged", _("acknowledged by the regulator")

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="filings"
    )
    obligation = models.ForeignKey(
        FilingObligation,
        verbose_name=_("filing obligation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="filings",
    )
    kind = models.CharField(
        _("kind"),
        max_length=16,
        choices=[(k.value, k.label) for k in FilingObligation.Kind if k in FilingObligation.FILED],
    )
    # FaceRights' own reference; the CAC's receipt number is recorded on submission.
    number = models.CharField(_("internal reference"), max_length=40, unique=True, editable=False)
    cac_receipt_number = models.CharField(
        _("CAC receipt number"),
        max_length=64,
        blank=True,
        editable=False,
        help_text=_("The number the cyberspace administration's filing system gave the submission."),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    province = models.CharField(_("filed with (province)"), max_length=2, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.DRAFT, editable=False)
    previous = models.ForeignKey(
        "self",
        verbose_name=_("previous filing"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    agent_name = models.CharField(_("person handling the filing (经办人)"), max_length=100, blank=True)
    agent_phone = models.CharField(_("their phone"), max_length=32, blank=True)
    agent_email = models.EmailField(_("their email"), blank=True)
    agent_id_type = models.CharField(
        _("their identity document"), max_length=24, choices=IdDocumentType.choices, blank=True
    )
    # The number, encrypted (registry/identity.py): set with filing_agent_set, shown masked.
    agent_id_ciphertext = models.BinaryField(null=True, editable=False)
    agent_id_masked = models.CharField(_("document number (masked)"), max_length=24, blank=True, editable=False)
    agent_id_digest = models.CharField(max_length=64, blank=True, editable=False)
    disposal_description = models.TextField(
        _("how the facial information was disposed of (cancellation)"),
        blank=True,
        help_text=_(
            "For a cancellation filing: what was deleted, where, by whom, and how the processors proved it. "
            "The filing cannot be reviewed without it."
        ),
    )
    snapshot = models.JSONField(_("data the documents were built from"), null=True, blank=True, editable=False)
    snapshot_sha256 = models.CharField(_("SHA-256 of that data"), max_length=64, blank=True, editable=False)
    snapshot_signature = models.CharField(
        _("signature of that SHA-256"),
        max_length=128,
        blank=True,
        editable=False,
        help_text=_("The deployment's Ed25519 signature (facerights/signing.py): anyone can check it at /verify/."),
    )
    progress = models.PositiveSmallIntegerField(_("documents built (%)"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    reviewed_by = models.CharField(_("reviewed by"), max_length=128, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    submitted_anchor = models.CharField(
        _("audit anchor at submission"),
        max_length=100,
        blank=True,
        editable=False,
        help_text=_("The registry audit chain's head when the submission was recorded: the pack carries it."),
    )
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True, editable=False)
    acknowledged_by = models.CharField(
        _("acknowledged by (regulator account)"),
        max_length=200,
        blank=True,
        editable=False,
        help_text=_("A regulator's acknowledgement in FaceRights; the CAC's own receipt number is recorded apart."),
    )

    class Meta:
        verbose_name = _("filing")
        verbose_name_plural = _("filings")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    @property
    def audit_chain(self) -> str:
        return "registry"

    @property
    def locked(self) -> bool:
        return self.state in (self.State.SUBMITTED, self.State.ACKNOWLEDGED)


class FilingDocument(models.Model):
    class Kind(models.TextChoices):
        BASIC_INFO = "basic_info", _("basic information of the personal information handler")
        APPLICATION_FORM = "application_form", _("filing form: application of facial recognition technology")
        PIA_REPORT = "pia_report", _("personal information protection impact assessment report")

    filing = models.ForeignKey(Filing, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    language = models.CharField(max_length=8)
    pdf = models.BinaryField()
    sha256 = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("filing document")
        verbose_name_plural = _("filing documents")
        constraints = [models.UniqueConstraint(fields=["filing", "kind", "language"], name="filing_document_unique")]

    def __str__(self) -> str:
        return f"{self.filing} {self.kind} {self.language}"


class FilingAttachment(models.Model):
    """A scanned document the CAC's system asks for, uploaded by the DPO, hashed and listed in the filing.

    Encrypted at rest under the master key like every scan (an ID document is
    personal information): `sha256` is of the document as uploaded.
    """

    class Kind(models.TextChoices):
        CREDIT_CODE_CERTIFICATE = "credit_code_certificate", _("unified social credit code certificate (sealed copy)")
        LEGAL_REP_ID = "legal_rep_id", _("ID document of the legal representative")
        AGENT_ID = "agent_id", _("ID document of the person handling the filing")
        POWER_OF_ATTORNEY = "power_of_attorney", _("power of attorney (sealed)")
        COMMITMENT = "commitment", _("letter of commitment (sealed)")
        OTHER = "other", _("other material")

    filing = models.ForeignKey(Filing, verbose_name=_("filing"), on_delete=models.CASCADE, related_name="attachments")
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    ciphertext = models.BinaryField(editable=False)
    content_type = models.CharField(max_length=32, editable=False)
    size = models.PositiveIntegerField(editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("filing attachment")
        verbose_name_plural = _("filing attachments")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.sha256[:12]}"

    @property
    def aad(self) -> bytes:
        return f"facerights:filing-attachment:{self.filing_id}:{self.sha256}".encode()

    @property
    def content(self) -> bytes:
        return crypto.blob_decrypt(self.ciphertext, aad=self.aad)


class ChangeReview(Deadline):
    """Filed information changed: is it substantive? A yes opens a change filing (30 working days)."""

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="change_reviews"
    )
    detected_on = models.DateField(_("change detected"))
    changes = models.JSONField(_("what changed"))
    changes_sha256 = models.CharField(max_length=64)
    substantive = models.BooleanField(_("substantive change"), null=True, blank=True, editable=False)
    decided_by = models.CharField(_("decided by"), max_length=128, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    obligation = models.OneToOneField(
        FilingObligation, on_delete=models.PROTECT, null=True, blank=True, related_name="change_review", editable=False
    )

    class Meta:
        verbose_name = _("change review")
        verbose_name_plural = _("change reviews")
        ordering = ["-detected_on"]

    def __str__(self) -> str:
        return f"{self.entity} {self.detected_on}"


class RegulatorAccount(models.Model):
    """A regulator's account, scoped to the province whose filings it receives."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="regulator_account"
    )
    province = models.CharField(_("province"), max_length=2, choices=Province.choices)
    authority_name = models.CharField(_("authority"), max_length=200)

    class Meta:
        verbose_name = _("regulator account")
        verbose_name_plural = _("regulator accounts")

    def __str__(self) -> str:
        return f"{self.authority_name} ({self.get_province_display()})"
