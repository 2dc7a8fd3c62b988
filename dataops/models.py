"""The registry of processing systems, the inventory of holdings, assessments and requests."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from consent.models import ConsentRecord, DataSubject, Purpose
from facerights import crypto

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
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    dpo_name = models.CharField(_("personal information protection officer"), max_length=100)
    dpo_email = models.EmailField(_("DPO email"))
    dpo_phone = models.CharField(_("DPO phone"), max_length=32, blank=True)
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
    retention_days = models.PositiveIntegerField(_("retention (days)"), validators=[MinValueValidator(1)])
    retention_justification_zh = models.TextField(_("why this retention (Chinese)"))
    retention_justification_en = models.TextField(_("why this retention (English)"), blank=True)
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contract_reference = models.CharField(_("contract reference"), max_length=100, blank=True)
    contract_starts_on = models.DateField(_("contract starts"), null=True, blank=True)
    contract_ends_on = models.DateField(_("contract ends"), null=True, blank=True)
    contract_data_types = models.CharField(_("data types in the contract"), max_length=255, blank=True)
    subprocessing_approved = models.BooleanField(_("sub-processing approved"), default=False)
    webhook_url = models.URLField(_("webhook URL (push)"), blank=True)
    is_internal = models.BooleanField(
        _("internal network"),
        default=False,
        help_text=_("Allows a webhook on a loopback or private address (the simulator, an on-premises service)."),
    )
    deletion_working_days = models.PositiveSmallIntegerField(
        _("agreed time to delete (working days)"), default=5, validators=[MinValueValidator(1), MaxValueValidator(30)]
    )
    reminder_hours = models.PositiveSmallIntegerField(
        _("reminder interval for manual confirmation (hours)"), default=24, validators=[MinValueValidator(1)]
    )
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False)
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
        if self.site_id and self.entity_id and self.site.entity_id != self.entity_id:
            errors["site"] = _("The site belongs to another legal entity.")
        if self.kind == self.Kind.PROCESSOR and not self.contract_reference.strip():
            errors["contract_reference"] = _("An entrusted processor needs its contract (PIPL Art 21).")
        if self.contract_starts_on and self.contract_ends_on and self.contract_ends_on < self.contract_starts_on:
            errors["contract_ends_on"] = _("The contract cannot end before it starts.")
        if self.integration == self.Integration.PUSH and not self.webhook_url:
            errors["webhook_url"] = _("A push system needs the URL its deletions are sent to.")
        if self.integration == self.Integration.MANUAL and not self.contact_email:
            errors["contact_email"] = _("A manual system needs the email address its deletion tasks are sent to.")
        if errors:
            raise ValidationError(errors)


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
        HELD = "held", _("held")
        DELETION_PENDING = "deletion_pending", _("deletion under way")
        DELETED = "deleted", _("deleted")
        RESTRICTED = "restricted", _("stored only, processing stopped")  # PIPL Art 47: deletion infeasible

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="holdings"
    )
    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="holdings"
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
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default=Status.HELD)
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


def new_request_reference() -> str:
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(10))


class Request(models.Model):
    """A rights request or complaint, with its legal clock (R16, R17)."""

    class Type(models.TextChoices):
        ACCESS = "access", _("access: what is held about me")
        COPY = "copy", _("a copy of my data")
        CORRECTION = "correction", _("correction")
        DELETION = "deletion", _("deletion")
        RESTRICTION = "restriction", _("restriction of processing")
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

    class State(models.TextChoices):
        RECEIVED = "received", _("received")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        REFUSED = "refused", _("refused")  # always with a reason the subject sees (PIPL Art 50)
        CANCELLED = "cancelled", _("cancelled by the requester")

    OPEN_STATES = (State.RECEIVED, State.IN_PROGRESS)

    reference = models.CharField(
        _("reference"), max_length=10, unique=True, default=new_request_reference, editable=False
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
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RECEIVED)
    received_at = models.DateTimeField(_("received"))
    due_on = models.DateField(_("due"))
    due_on_provisional = models.BooleanField(
        _("due date provisional"),
        default=False,
        help_text=_(
            "The holiday schedule of a year in the period is not known yet: the earliest possible date is used."
        ),
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
            models.Index(fields=["state", "due_on"], name="request_state_due_idx"),
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


class DeletionRequest(models.Model):
    """An order to delete a subject's facial data from every system that holds it.

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
    request = models.ForeignKey(
        Request,
        verbose_name=_("rights request"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="deletion_requests",
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN)
    due_on = models.DateField(_("due"))
    created_at = models.DateTimeField(_("opened"))
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # The request id (facerights.logs) of the web request or task that opened it, so
    # every later delivery attempt logs it too and one grep tells the deletion's story.
    trace_id = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        verbose_name = _("deletion request")
        verbose_name_plural = _("deletion requests")
        indexes = [models.Index(fields=["state", "due_on"], name="deletion_state_due_idx")]

    def __str__(self) -> str:
        return self.reference

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


class Propagation(models.Model):
    """One deletion instruction to one system, carried until the system confirms it.

    The row is the truth: Celery only carries work. Delivery is scheduled by
    next_attempt_at and claimed with a lease (claimed_until), so a lost
    message or a killed worker costs a delay, never a deletion.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("waiting to be sent")
        SENT = "sent", _("sent")
        AWAITING = "awaiting", _("awaiting confirmation")
        DELETED = "deleted", _("deleted")
        NOT_FOUND = "not_found", _("not found: nothing to delete")
        HELD = "held", _("held, with a reason")  # kept and processing stopped (PIPL Art 47)
        FAILED = "failed", _("failed")
        ESCALATED = "escalated", _("escalated to a person")

    TERMINAL = (State.DELETED, State.NOT_FOUND, State.HELD)

    deletion_request = models.ForeignKey(
        DeletionRequest, verbose_name=_("deletion request"), on_delete=models.PROTECT, related_name="propagations"
    )
    system = models.ForeignKey(
        ProcessingSystem, verbose_name=_("processing system"), on_delete=models.PROTECT, related_name="propagations"
    )
    holding = models.ForeignKey(
        Holding, verbose_name=_("holding"), on_delete=models.PROTECT, related_name="propagations"
    )
    subject_key = models.CharField(_("the system's key for the person"), max_length=128)
    idempotency_key = models.CharField(max_length=32, unique=True, default=new_idempotency_key, editable=False)
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
    manual_nonce = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)

    class Meta:
        verbose_name = _("propagation")
        verbose_name_plural = _("propagations")
        constraints = [
            models.UniqueConstraint(fields=["deletion_request", "system"], name="propagation_one_per_system"),
            models.UniqueConstraint(
                fields=["system", "feed_seq"], condition=Q(feed_seq__isnull=False), name="propagation_feed_seq_unique"
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["deleted", "not_found", "held"]) | ~Q(evidence_sha256=""),
                name="propagation_terminal_has_evidence",
            ),
            models.CheckConstraint(condition=~Q(state="held") | ~Q(held_reason=""), name="propagation_held_has_reason"),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="propagation_due_idx"),
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
        return self.state in self.TERMINAL


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
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        constraints = [models.UniqueConstraint(fields=["propagation", "number"], name="attempt_number_unique")]
        indexes = [models.Index(fields=["finished_at"], name="attempt_finished_idx")]  # the latency metrics

    def __str__(self) -> str:
        return f"#{self.number} {self.get_outcome_display()}"


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


class EvidenceExport(models.Model):
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

    class Meta:
        verbose_name = _("evidence export (CSV)")
        verbose_name_plural = _("evidence exports (CSV)")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.date_from}–{self.date_to}"


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


class FilingObligation(models.Model):
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
    due_on = models.DateField(_("due"))
    due_on_provisional = models.BooleanField(_("due date provisional"), default=False)
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
    number = models.CharField(_("filing number"), max_length=40, unique=True, editable=False)
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
    snapshot = models.JSONField(_("data the documents were built from"), null=True, blank=True, editable=False)
    snapshot_sha256 = models.CharField(_("SHA-256 of that data"), max_length=64, blank=True, editable=False)
    progress = models.PositiveSmallIntegerField(_("documents built (%)"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    reviewed_by = models.CharField(_("reviewed by"), max_length=128, blank=True, editable=False)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True, editable=False)
    acknowledged_by = models.CharField(_("acknowledged by"), max_length=200, blank=True, editable=False)

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
        BASIC_INFO = "basic_info", "个人信息处理者基本情况表"
        APPLICATION_FORM = "application_form", "人脸识别技术应用情况备案表"
        PIA_REPORT = "pia_report", "个人信息保护影响评估报告"

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


class ChangeReview(models.Model):
    """Filed information changed: is it substantive? A yes opens a change filing (30 working days)."""

    entity = models.ForeignKey(
        LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT, related_name="change_reviews"
    )
    detected_on = models.DateField(_("change detected"))
    due_on = models.DateField(_("due"))
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
