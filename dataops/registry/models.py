"""The registry: legal entities, their sites and processing systems, impact assessments, and the inventory
of holdings (who is held where, under which key), with the credentials systems use."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.models import ConsentRecord, DataSubject, Purpose

from .identity import IdDocumentType
from .provinces import Province
from .validators import validate_credit_code


class EntityGroup(models.Model):
    """A group of legal entities that may file together (a hotel chain and its companies)."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups of entities")

    def __str__(self) -> str:
        return self.name_zh


class MlpsLevel(models.TextChoices):
    """The grade under the multi-level protection scheme (网络安全等级保护, 等保) of the systems that hold faces."""

    NOT_GRADED = "not_graded", _("not graded (未定级)")
    LEVEL_1 = "level_1", _("level 1 (第一级)")
    LEVEL_2 = "level_2", _("level 2 (第二级)")
    LEVEL_3 = "level_3", _("level 3 (第三级)")
    LEVEL_4 = "level_4", _("level 4 (第四级)")


class LegalEntity(models.Model):
    """A personal information handler (个人信息处理者)."""

    group = models.ForeignKey(
        EntityGroup, verbose_name=_("group"), on_delete=models.PROTECT, null=True, blank=True, related_name="entities"
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    credit_code = models.CharField(
        _("unified social credit code"), max_length=18, unique=True, validators=[validate_credit_code]
    )
    province = models.CharField(_("registered province"), max_length=2, choices=Province.choices)
    registered_address = models.CharField(_("registered address"), max_length=255)
    operating_address = models.CharField(_("operating address"), max_length=255, blank=True)
    legal_representative = models.CharField(_("legal representative"), max_length=100)
    legal_rep_id_type = models.CharField(
        _("legal representative's identity document"), max_length=24, choices=IdDocumentType.choices, blank=True
    )
    # The number, encrypted (registry/identity.py): set with legal_rep_id_record, shown masked.
    legal_rep_id_ciphertext = models.BinaryField(null=True, editable=False)
    legal_rep_id_masked = models.CharField(_("document number (masked)"), max_length=24, blank=True, editable=False)
    legal_rep_id_digest = models.CharField(max_length=64, blank=True, editable=False)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    dpo_name = models.CharField(_("personal information protection officer"), max_length=100)
    dpo_email = models.EmailField(_("DPO email"))
    dpo_phone = models.CharField(_("DPO phone"), max_length=32, blank=True)
    incident_contact_email = models.EmailField(
        _("legal representative's contact for incidents (email)"),
        blank=True,
        help_text=_("Told with the DPO when a security incident opens and as its report deadline nears and passes."),
    )
    incident_contact_phone = models.CharField(
        _("legal representative's contact for incidents (mobile)"), max_length=32, blank=True
    )
    pipo_designated = models.BooleanField(
        _("officer designated under PIPL Art 52"),
        default=False,
        help_text=_("Required once the entity handles the personal information of 1,000,000 people."),
    )
    pi_headcount = models.PositiveBigIntegerField(
        _("people whose personal information the entity handles"),
        null=True,
        blank=True,
        help_text=_(
            "All personal information, not only faces, from the company's own records. FaceRights sees only "
            "facial data: the daily count uses the larger of this figure and its own."
        ),
    )
    pi_headcount_on = models.DateField(_("headcount as of"), null=True, blank=True)
    security_measures = models.TextField(
        _("security protection measures"),
        blank=True,
        help_text=_(
            "Encryption, audit, access control, intrusion defence, 等保 level and record number (for filings)."
        ),
    )
    mlps_level = models.CharField(
        _("multi-level protection (等保) level"),
        max_length=16,
        choices=MlpsLevel.choices,
        blank=True,
        help_text=_("Unknown until answered: a filing cannot be reviewed while it is unknown."),
    )
    mlps_record_number = models.CharField(
        _("multi-level protection record number (备案证明编号)"), max_length=64, blank=True
    )
    incident_plan_on = models.DateField(
        _("incident response plan adopted or last revised"),
        null=True,
        blank=True,
        help_text=_("PIPL Art 51: a filing cannot be reviewed while it is unknown."),
    )
    training_last_on = models.DateField(
        _("last staff training on personal information protection"),
        null=True,
        blank=True,
        help_text=_("PIPL Art 51: a filing cannot be reviewed while it is unknown."),
    )
    operating_procedures = models.TextField(
        _("internal operating procedures"), blank=True, help_text=_("Their titles, versions and dates (for filings).")
    )
    recognition_ended_on = models.DateField(_("face recognition ended"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")
        ordering = ["name_zh"]

    def __str__(self) -> str:
        return self.name_zh

    def clean(self) -> None:
        self.credit_code = (self.credit_code or "").strip().upper()
        if self.pi_headcount is not None and self.pi_headcount_on is None:
            raise ValidationError({"pi_headcount_on": _("Give the date the headcount was taken.")})
        if self.pi_headcount_on and self.pi_headcount_on > timezone.localdate():
            raise ValidationError({"pi_headcount_on": _("A headcount cannot be dated in the future.")})
        graded = self.mlps_level in (MlpsLevel.LEVEL_2, MlpsLevel.LEVEL_3, MlpsLevel.LEVEL_4)
        if graded and not self.mlps_record_number.strip():
            # Level 2 and above are filed with the public security organs, who issue the record number.
            raise ValidationError({"mlps_record_number": _("Level 2 and above have a record number: give it.")})
        today = timezone.localdate()
        for field in ("incident_plan_on", "training_last_on"):
            if getattr(self, field) and getattr(self, field) > today:
                raise ValidationError({field: _("This date cannot be in the future.")})


class Site(models.Model):
    """A place where devices stand (a hotel, a residential compound, a branch)."""

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="sites"
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    address = models.CharField(_("address"), max_length=255)
    is_public_place = models.BooleanField(_("public place"), default=False)
    signage_present = models.BooleanField(_("conspicuous signs posted"), default=False)
    collection_area = models.CharField(_("collection area"), max_length=255, blank=True)
    is_private_space = models.BooleanField(
        _("private space"),
        default=False,
        help_text=_("Guest rooms, bathhouses, changing rooms, toilets: never allowed (Measures Art 13)."),
    )

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["entity", "name_zh"]
        constraints = [
            models.CheckConstraint(condition=Q(is_private_space=False), name="site_never_private_space"),
            models.CheckConstraint(
                condition=Q(is_public_place=False) | Q(signage_present=True), name="site_public_place_has_signage"
            ),
        ]

    def __str__(self) -> str:
        return self.name_zh

    def clean(self) -> None:
        errors = {}
        if self.is_private_space:
            errors["is_private_space"] = _(
                "Facial recognition devices may not be installed in private spaces such as guest rooms, "
                "bathhouses, changing rooms or toilets (Measures Art 13)."
            )
        if self.is_public_place and not self.signage_present:
            errors["signage_present"] = _("A public place needs conspicuous signs before faces are collected there.")
        if self.is_public_place and not self.collection_area.strip():
            errors["collection_area"] = _("Describe the collection area of a device in a public place.")
        if errors:
            raise ValidationError(errors)


class Alternative(models.TextChoices):
    """Non-face ways to verify identity a system offers (Measures Art 10)."""

    CARD = "card", _("card")
    PIN = "pin", _("PIN")
    QR_CODE = "qr_code", _("QR code")
    STAFF_CHECK = "staff_check", _("check by staff")
    ID_DOCUMENT = "id_document", _("identity document")
    PHONE_CODE = "phone_code", _("code sent to a phone")
    PASSWORD = "password", _("password")


def validate_alternatives(value) -> None:
    if not isinstance(value, list) or any(item not in Alternative.values for item in value):
        raise ValidationError(_("Choose alternatives from the list."), code="alternatives")


class ProcessingSystem(models.Model):
    """A system or device that holds facial data: the unit deletions are sent to."""

    class Kind(models.TextChoices):
        DEVICE = "device", _("on-site device")
        CENTRAL = "central", _("central service")
        PROCESSOR = "processor", _("entrusted processor (受托人)")
        RECIPIENT = "recipient", _("independent recipient")

    class Integration(models.TextChoices):
        PUSH = "push", _("push (webhook)")
        PULL = "pull", _("pull (the device fetches a feed)")
        MANUAL = "manual", _("manual (a person confirms)")

    class Recognition(models.TextChoices):
        VERIFY = "verify", _("1:1 verification")
        IDENTIFY = "identify", _("1:N identification")
        NONE = "none", _("stores only, recognises no one")

    class Mode(models.TextChoices):
        REAL_TIME = "real_time", _("real time (at the moment of capture)")
        BATCH = "batch", _("in batches (afterwards, on stored captures)")

    class Storage(models.TextChoices):
        DEVICE = "device", _("on the device")
        SERVER = "server", _("on the company's server")
        CLOUD = "cloud", _("in a cloud service")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        RETIRED = "retired", _("retired")

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="systems"
    )
    site = models.ForeignKey(
        Site, verbose_name=_("site"), on_delete=models.PROTECT, null=True, blank=True, related_name="systems"
    )
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    integration = models.CharField(_("integration"), max_length=16, choices=Integration.choices)
    purposes = models.ManyToManyField(Purpose, verbose_name=_("purposes"), related_name="systems")
    recognition = models.CharField(
        _("recognition"), max_length=16, choices=Recognition.choices, default=Recognition.VERIFY
    )
    recognition_mode = models.CharField(
        _("real time or in batches"),
        max_length=16,
        choices=Mode.choices,
        blank=True,
        help_text=_("Unknown until answered: a filing cannot be reviewed while it is unknown."),
    )
    keeps_template = models.BooleanField(_("keeps face templates"), default=True)
    keeps_image = models.BooleanField(_("keeps face images"), default=False)
    storage_location = models.CharField(
        _("storage location"), max_length=16, choices=Storage.choices, default=Storage.DEVICE
    )
    internet_transmission = models.BooleanField(_("transmits facial data over the internet"), default=False)
    alternatives = models.JSONField(
        _("non-face alternatives"), default=list, blank=True, validators=[validate_alternatives]
    )
    uses_national_identity_service = models.BooleanField(
        _("uses the national online identity authentication service"), default=False
    )
    requires_written_consent = models.BooleanField(_("requires written consent"), default=False)
    cross_border = models.BooleanField(
        _("sends facial data outside mainland China"),
        null=True,
        blank=True,
        help_text=_("Unknown until answered: a filing cannot be reviewed while it is unknown."),
    )
    retention_days = models.PositiveIntegerField(_("retention (days)"), validators=[MinValueValidator(1)])
    retention_justification_zh = models.TextField(_("why this retention (Chinese)"))
    retention_justification_en = models.TextField(_("why this retention (English)"), blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    counterparty_name = models.CharField(
        _("legal name of the processor or recipient"),
        max_length=200,
        blank=True,
        help_text=_("The company that processes for you, or receives the data (PIPL Arts 21, 23)."),
    )
    provision_purpose = models.CharField(_("purpose of the entrustment or provision"), max_length=255, blank=True)
    contract_reference = models.CharField(_("contract reference"), max_length=100, blank=True)
    contract_starts_on = models.DateField(_("contract starts"), null=True, blank=True)
    contract_ends_on = models.DateField(_("contract ends"), null=True, blank=True)
    contract_data_types = models.CharField(_("data types in the contract"), max_length=255, blank=True)
    subprocessing_approved = models.BooleanField(_("sub-processing approved"), default=False)
    subprocessor = models.CharField(
        _("sub-processor in use"),
        max_length=200,
        blank=True,
        help_text=_("The processor's own processor, if it uses one: only once the company approved it (PIPL Art 21)."),
    )
    contract_ended_on = models.DateField(_("contract ended"), null=True, blank=True, editable=False)
    webhook_url = models.URLField(_("webhook URL (push)"), blank=True)
    is_internal = models.BooleanField(
        _("internal network"),
        default=False,
        help_text=_("Allows a webhook on a loopback or private address (the simulator, an on-premises service)."),
    )
    consent_at_capture = models.BooleanField(
        _("asks consent through FaceRights"),
        default=False,
        help_text=_(
            "The device shows FaceRights' consent page (a QR code or a desk tablet) and each enrolment report "
            "carries the consent token it got there; a report without one is refused (docs/integration.md)."
        ),
    )
    receives_restrictions = models.BooleanField(
        _("receives restriction instructions"),
        default=True,
        help_text=_(
            "The system carries out restrict and lift_restriction instructions (docs/integration.md). Off: it "
            "learns of a restriction only from the consent check, which answers no at once."
        ),
    )
    deletion_working_days = models.PositiveSmallIntegerField(
        _("agreed time to delete (working days)"), default=5, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    reminder_hours = models.PositiveSmallIntegerField(
        _("reminder interval for manual confirmation (hours)"), default=24, validators=[MinValueValidator(1)]
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False)
    enrolments_paused = models.BooleanField(
        _("enrolments paused"),
        default=False,
        editable=False,
        help_text=_("Enrols no one new; the people already enrolled, and their deletions, are unaffected."),
    )
    deliveries_paused = models.BooleanField(
        _("deliveries paused"),
        default=False,
        editable=False,
        help_text=_("Deletion instructions wait, due, until the DPO lets them flow again."),
    )
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True, editable=False)
    reassessment_since = models.DateTimeField(
        _("awaiting reassessment since"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Its method, storage, transmission or purposes changed and no new assessment is approved yet: "
            "it enrols no one new; its deletions go on (Measures Art 9)."
        ),
    )
    connection_verified_at = models.DateTimeField(
        _("connection verified"),
        null=True,
        blank=True,
        editable=False,
        help_text=_("When the system last confirmed a synthetic deletion (a connection test)."),
    )
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(_("last confirmed deletion"), null=True, blank=True, editable=False)
    # The pull feed: every instruction gets the next number of its system's
    # sequence, taken under the system's row lock so that numbers become
    # visible in order. Instructions numbered up to feed_floor are no longer
    # served (older than the feed's retention): a cursor below it must reconcile.
    feed_seq = models.PositiveBigIntegerField(default=0, editable=False)
    feed_floor = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("processing system")
        verbose_name_plural = _("processing systems")
        ordering = ["entity", "name_zh"]
        constraints = [
            models.CheckConstraint(
                condition=Q(keeps_template=True) | Q(keeps_image=True), name="system_keeps_something"
            ),
        ]

    def __str__(self) -> str:
        return self.name_zh

    @property
    def verifies_identity(self) -> bool:
        return self.recognition != self.Recognition.NONE

    def clean(self) -> None:
        errors = {}
        if self.site_id and self.entity_id and self.site is not None and self.site.entity_id != self.entity_id:
            errors["site"] = _("The site belongs to another legal entity.")
        if self.kind == self.Kind.PROCESSOR and not self.contract_reference.strip():
            errors["contract_reference"] = _("An entrusted processor needs its contract (PIPL Art 21).")
        if self.contract_starts_on and self.contract_ends_on and self.contract_ends_on < self.contract_starts_on:
            errors["contract_ends_on"] = _("The contract cannot end before it starts.")
        if self.subprocessor.strip() and not self.subprocessing_approved:
            errors["subprocessor"] = _(
                "A sub-processor can be recorded as in use only once the company approved sub-processing (PIPL Art 21)."
            )
        if self.status == self.Status.ACTIVE and self.verifies_identity and not self.alternatives:
            errors["alternatives"] = _(
                "An active system that verifies identity must keep at least one non-face alternative (Measures Art 10)."
            )
        if self.integration == self.Integration.PUSH and not self.webhook_url:
            errors["webhook_url"] = _("A push system needs the URL its deletions are sent to.")
        if self.integration == self.Integration.MANUAL and not self.contact_email:
            errors["contact_email"] = _("A manual system needs the email address its deletion tasks are sent to.")
        if errors:
            raise ValidationError(errors)


class DeviceGroup(models.Model):
    """Devices of one kind at one location that capture faces for a system (a filing lists them)."""

    class Kind(models.TextChoices):
        GATE = "gate", _("gate or turnstile")
        KIOSK = "kiosk", _("self-service kiosk")
        CAMERA = "camera", _("camera")
        TERMINAL = "terminal", _("terminal or tablet")
        PAYMENT = "payment", _("payment terminal")
        OTHER = "other", _("other device")

    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.CASCADE, related_name="devices"
    )
    kind = models.CharField(_("kind of device"), max_length=16, choices=Kind.choices)
    count = models.PositiveIntegerField(_("number"), validators=[MinValueValidator(1)])
    location = models.CharField(_("where they stand"), max_length=255)

    class Meta:
        verbose_name = _("devices")
        verbose_name_plural = _("devices")
        ordering = ["system", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} × {self.count} · {self.location}"


class SignageEvidence(models.Model):
    """A photo or document showing the conspicuous signs at a site, with its date and collection area.

    A public place's signs are stated in a filing only from evidence like this, never from a
    checkbox (Measures Art 13). Encrypted at rest like every scan: a photo may show people.
    """

    site = models.ForeignKey(Site, verbose_name=_("site"), on_delete=models.PROTECT, related_name="signage_evidence")
    taken_on = models.DateField(_("photographed or issued on"))
    collection_area = models.CharField(_("collection area shown"), max_length=255)
    ciphertext = models.BinaryField(editable=False)
    content_type = models.CharField(max_length=32, editable=False)
    size = models.PositiveIntegerField(editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, editable=False)
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("signage evidence")
        verbose_name_plural = _("signage evidence")
        ordering = ["site", "-taken_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.site} {self.taken_on} {self.sha256[:12]}"

    @property
    def aad(self) -> bytes:
        return f"facerights:signage:{self.site_id}:{self.sha256}".encode()


class ImpactAssessment(models.Model):
    """A personal information protection impact assessment (PIPIA, Measures Art 9, PIPL Arts 55-56)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("draft")
        IN_REVIEW = "in_review", _("in review")
        APPROVED = "approved", _("approved")
        NEEDS_REASSESSMENT = "needs_reassessment", _("needs reassessment")  # purpose, method or storage changed

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="assessments"
    )
    systems = models.ManyToManyField(ProcessingSystem, verbose_name=_("systems covered"), related_name="assessments")
    title = models.CharField(_("title"), max_length=200)
    lawfulness = models.TextField(_("lawfulness, legitimacy and necessity of the purpose and method"))
    impact = models.TextField(_("impact on individuals and the measures that reduce it"))
    risks = models.TextField(_("risks of leaks, alteration, loss or unlawful use, and their harm"))
    measures = models.TextField(_("whether protection measures are lawful, effective and proportionate"))
    reviewer = models.CharField(_("reviewer"), max_length=100, blank=True)
    state = models.CharField(_("state"), max_length=24, choices=State.choices, default=State.DRAFT, editable=False)
    approved_at = models.DateTimeField(_("approved"), null=True, blank=True, editable=False)
    approved_by = models.CharField(_("approved by"), max_length=128, blank=True, editable=False)
    next_review_on = models.DateField(_("next review"), null=True, blank=True)
    reassessment_reason = models.CharField(_("why reassessment is needed"), max_length=255, blank=True, editable=False)
    superseded_at = models.DateTimeField(
        _("superseded"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When a later assessment of the same systems was approved: the three years of keeping run from here."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("impact assessment")
        verbose_name_plural = _("impact assessments")
        permissions = [("approve_impactassessment", _("Can approve impact assessments"))]

    def __str__(self) -> str:
        return self.title


class Holding(models.Model):
    """One subject's facial data in one system, known by the system's pseudonymous key.

    There is no image or template field here, nor anywhere in the portal
    (Measures Art 8): the portal is an index of who is held where.
    """

    class DataKind(models.TextChoices):
        TEMPLATE = "template", _("face template")
        IMAGE = "image", _("face image")
        BOTH = "both", _("face image and template")

    class Status(models.TextChoices):
        ACTIVE = "active", _("held and in use")  # processed under its consent
        DELETION_PENDING = "deletion_pending", _("deletion under way")
        DELETED = "deleted", _("deleted")
        # Kept for a legal reason, processing stopped (PIPL Art 47: a retention period a law sets,
        # or deletion technically infeasible). A system answered "held" to its deletion.
        RETAINED = "retained", _("kept for a legal reason, processing stopped")
        # The person restricted its processing (PIPL Art 44): kept, processed by no one, until they lift it.
        RESTRICTED = "restricted", _("restricted at the person's request: kept, not processed")

    # No index of their own: holding_subject_status_idx and holding_system_key_unique lead with them, and
    # every index more is one more write each time a holding changes status (twice per deletion).
    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="holdings", db_index=False
    )
    system = models.ForeignKey(
        ProcessingSystem,
        verbose_name=_("processing system"),
        on_delete=models.PROTECT,
        related_name="holdings",
        db_index=False,
    )
    subject_key = models.CharField(_("the system's key for this person"), max_length=128)
    data_kind = models.CharField(_("kind of data"), max_length=16, choices=DataKind.choices)
    consent = models.ForeignKey(
        ConsentRecord,
        verbose_name=_("consent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="holdings",
    )
    enrolled_at = models.DateTimeField(_("enrolled"))
    retention_until = models.DateField(_("retained until"))
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.ACTIVE)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True)

    class Meta:
        verbose_name = _("holding")
        verbose_name_plural = _("holdings")
        constraints = [
            models.UniqueConstraint(fields=["system", "subject_key"], name="holding_system_key_unique"),
            models.UniqueConstraint(
                fields=["subject", "system"], condition=~Q(status="deleted"), name="holding_one_live_per_system"
            ),
        ]
        indexes = [
            models.Index(fields=["subject", "status"], name="holding_subject_status_idx"),
            models.Index(fields=["retention_until"], name="holding_retention_idx"),
            models.Index(fields=["subject_key"], name="holding_key_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.system} / {self.subject_key}"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"


class SystemCredential(models.Model):
    """A secret a system uses with the portal: a device token (stored hashed) or a webhook secret (encrypted).

    Several may be live at once, so a secret rotates without downtime: the new
    one is added, both work during the overlap, then the old one expires.
    """

    class Kind(models.TextChoices):
        DEVICE_TOKEN = "device_token", _("device token (pull feed and API)")
        WEBHOOK_SECRET = "webhook_secret", _("webhook signing secret")

    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.CASCADE, related_name="credentials"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    secret_ciphertext = models.BinaryField(null=True, editable=False)
    hint = models.CharField(_("first characters"), max_length=12, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("system credential")
        verbose_name_plural = _("system credentials")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.hint}…"


class ProcessingDay(models.Model):
    """The consent checks one system made for one purpose on one day (Beijing time): answered yes, answered no.

    Every recognition asks first (`/api/v1/consent-check`), so these counts are the
    record of processing the law asks for (Measures Art 9, PIPL Art 55), kept three
    years; each "no" is also kept on its own (ProcessingRefusal). One row per system,
    purpose and day, incremented in place: a busy gate costs one UPDATE per check.
    """

    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="processing_days"
    )
    purpose = models.CharField(_("purpose asked for"), max_length=64)
    day = models.DateField(_("day"))
    allowed = models.PositiveBigIntegerField(_("allowed"), default=0)
    refused = models.PositiveBigIntegerField(_("refused"), default=0)

    class Meta:
        verbose_name = _("processing record (daily)")
        verbose_name_plural = _("processing records (daily)")
        ordering = ["-day", "system", "purpose"]
        constraints = [
            models.UniqueConstraint(fields=["system", "purpose", "day"], name="processing_day_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.system} · {self.purpose} · {self.day}"


class ProcessingRefusal(models.Model):
    """A consent check answered no: which system asked, for which key and purpose, why, and when."""

    system = models.ForeignKey(
        ProcessingSystem,
        verbose_name=_("processing system"),
        on_delete=models.PROTECT,
        related_name="processing_refusals",
    )
    purpose = models.CharField(_("purpose asked for"), max_length=64)
    subject_key = models.CharField(_("the system's key for the person"), max_length=128, db_index=True)
    reason = models.CharField(_("reason"), max_length=32)
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        verbose_name = _("refused processing")
        verbose_name_plural = _("refused processing")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.system} · {self.reason}"


class SystemTransfer(models.Model):
    """A processing system passed to another legal entity (PIPL Art 22): merger, sale, a move within a group.

    The recipient continues under the same purposes and methods; each person it holds is
    told the recipient's name and contact. A new purpose or method needs new consent.
    """

    class Kind(models.TextChoices):
        MERGER = "merger", _("merger or division")
        SALE = "sale", _("sale of the business")
        GROUP = "group", _("transfer within the group")
        OTHER = "other", _("other transfer")

    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="transfers"
    )
    from_entity = models.ForeignKey(
        LegalEntity, verbose_name=_("transferred by"), on_delete=models.PROTECT, related_name="+"
    )
    to_entity = models.ForeignKey(
        LegalEntity, verbose_name=_("recipient"), on_delete=models.PROTECT, related_name="systems_received"
    )
    kind = models.CharField(_("kind of transfer"), max_length=16, choices=Kind.choices)
    effective_on = models.DateField(_("effective on"))
    recipient_contact = models.CharField(
        _("recipient's contact for people"),
        max_length=200,
        help_text=_("The name and phone or email people are told to use from now on (PIPL Art 22)."),
    )
    actor = models.CharField(_("recorded by"), max_length=128)
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    people_told = models.PositiveIntegerField(_("people told"), default=0)
    told_at = models.DateTimeField(_("people told on"), null=True, blank=True)

    class Meta:
        verbose_name = _("system transfer")
        verbose_name_plural = _("system transfers")
        ordering = ["-recorded_at"]

    def __str__(self) -> str:
        return f"{self.system} → {self.to_entity}"
