"""Data subjects, their identifiers, notices and the consent ledger.

The consent app imports nothing from dataops: it names the registry's
ProcessingSystem only through lazy foreign keys ("dataops.ProcessingSystem").
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .wording import coercive_phrases


class Purpose(models.Model):
    """Why a system processes faces (access control, check-in, payment, ...)."""

    # Sending facial data over the internet needs its own separate consent
    # (Measures Art 8, R12): a consent type of its own, created by a migration,
    # that a transmitting system must declare and every person must give.
    TRANSMISSION = "internet-transmission"

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=128)
    name_en = models.CharField(_("name (English)"), max_length=128)
    description_zh = models.TextField(_("description (Chinese)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)

    class Meta:
        verbose_name = _("purpose")
        verbose_name_plural = _("purposes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name_zh} / {self.name_en}"


class DataSubject(models.Model):
    """A natural person whose facial data some registered system holds.

    Identifiers live in SubjectIdentifier, encrypted under this subject's own
    data key (`wrapped_key`, itself encrypted under FIELD_ENCRYPTION_KEY).
    Clearing the wrapped key destroys every identifier at once.
    """

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="data_subject",
    )
    wrapped_key = models.BinaryField(null=True, editable=False)
    name_ciphertext = models.BinaryField(null=True, editable=False)
    date_of_birth = models.DateField(_("date of birth"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    shredded_at = models.DateTimeField(_("identifiers destroyed"), null=True, blank=True)
    # A stand-in for a system's connection test: never counted as a person.
    is_synthetic = models.BooleanField(_("synthetic (connection tests)"), default=False, editable=False)

    class Meta:
        verbose_name = _("data subject")
        verbose_name_plural = _("data subjects")

    def __str__(self) -> str:
        return _("Subject %(id)s") % {"id": str(self.uuid)[:8]}

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.pk}"


class SubjectIdentifier(models.Model):
    """A phone number, email address or external id of a subject, encrypted, with a keyed hash."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("phone number")
        EMAIL = "email", _("email address")
        EXTERNAL = "external", _("external id")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.CASCADE, related_name="identifiers"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    ciphertext = models.BinaryField()
    lookup_hash = models.CharField(_("lookup hash"), max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("subject identifier")
        verbose_name_plural = _("subject identifiers")
        constraints = [
            models.UniqueConstraint(fields=["kind", "lookup_hash"], name="subject_identifier_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.lookup_hash[:8]}…"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"


class Guardianship(models.Model):
    """A guardian who may act for a ward (a child under 14), once a DPO has verified it."""

    class Relationship(models.TextChoices):
        PARENT = "parent", _("parent")
        OTHER_GUARDIAN = "guardian", _("other legal guardian")

    ward = models.ForeignKey(
        DataSubject, verbose_name=_("child"), on_delete=models.PROTECT, related_name="guardianships"
    )
    guardian = models.ForeignKey(
        DataSubject, verbose_name=_("guardian"), on_delete=models.PROTECT, related_name="wards"
    )
    relationship = models.CharField(_("relationship"), max_length=16, choices=Relationship.choices)
    verified_at = models.DateTimeField(_("verified"), null=True, blank=True)
    verified_by = models.CharField(
        _("verified by"),
        max_length=128,
        blank=True,
        help_text=_("Who checked the proof of the relationship: the DPO, or the staff member named at enrolment."),
    )
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("guardianship")
        verbose_name_plural = _("guardianships")
        constraints = [
            models.UniqueConstraint(fields=["ward", "guardian"], name="guardianship_unique"),
            models.CheckConstraint(condition=~Q(ward=models.F("guardian")), name="guardianship_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.guardian} → {self.ward}"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.ward_id}"

    @property
    def is_active(self) -> bool:
        return self.verified_at is not None and self.ended_at is None


NOTICE_ITEMS = ("handler", "purpose", "method", "retention", "necessity", "impact", "rights", "alternatives")
"""The items Measures Art 5 and PIPL Arts 17 and 30 require in every notice (R1), and the
non-face alternatives every notice must name (Measures Art 10, R10)."""


class Notice(models.Model):
    """A versioned notice (告知) of one processing system, in Chinese and English.

    Drafts are edited freely. `notice_publish` checks every required item,
    numbers the version and freezes the text in `snapshot`; a published notice
    never changes again (save() refuses).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    system = models.ForeignKey(
        "dataops.ProcessingSystem",
        verbose_name=_("processing system"),
        on_delete=models.PROTECT,
        related_name="notices",
    )
    version = models.PositiveIntegerField(_("version"), null=True, blank=True, editable=False)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.DRAFT, editable=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)

    handler_zh = models.TextField(_("handler name and contact (Chinese)"), blank=True)
    handler_en = models.TextField(_("handler name and contact (English)"), blank=True)
    purpose_zh = models.TextField(_("purpose (Chinese)"), blank=True)
    purpose_en = models.TextField(_("purpose (English)"), blank=True)
    method_zh = models.TextField(_("method of processing (Chinese)"), blank=True)
    method_en = models.TextField(_("method of processing (English)"), blank=True)
    retention_zh = models.TextField(_("retention period (Chinese)"), blank=True)
    retention_en = models.TextField(_("retention period (English)"), blank=True)
    necessity_zh = models.TextField(_("necessity (Chinese)"), blank=True)
    necessity_en = models.TextField(_("necessity (English)"), blank=True)
    impact_zh = models.TextField(_("impact on your rights (Chinese)"), blank=True)
    impact_en = models.TextField(_("impact on your rights (English)"), blank=True)
    rights_zh = models.TextField(_("how to exercise your rights (Chinese)"), blank=True)
    rights_en = models.TextField(_("how to exercise your rights (English)"), blank=True)
    alternatives_zh = models.TextField(_("non-face alternatives (Chinese)"), blank=True)
    alternatives_en = models.TextField(_("non-face alternatives (English)"), blank=True)
    other_zh = models.TextField(_("other matters (Chinese)"), blank=True)
    other_en = models.TextField(_("other matters (English)"), blank=True)

    snapshot = models.JSONField(_("published text"), null=True, blank=True, editable=False)
    digest = models.CharField(_("SHA-256 of the published text"), max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        constraints = [
            models.UniqueConstraint(fields=["system", "version"], name="notice_system_version_unique"),
            models.CheckConstraint(
                condition=Q(status="draft")
                | (Q(version__isnull=False) & Q(published_at__isnull=False) & ~Q(digest="")),
                name="notice_published_is_complete",
            ),
        ]

    def __str__(self) -> str:
        if self.version:
            return f"{self.system} v{self.version}"
        return f"{self.system} ({_('draft')})"

    def save(self, *args, **kwargs):
        if self.pk and Notice.objects.filter(pk=self.pk, status=self.Status.PUBLISHED).exists():
            raise NoticeImmutable("A published notice never changes; publish a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == self.Status.PUBLISHED:
            raise NoticeImmutable("A published notice is kept as evidence and cannot be deleted.")
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        errors = notice_wording_errors(self)
        if errors:
            raise ValidationError(errors)


class NoticeImmutable(Exception):
    pass


def notice_wording_errors(notice: Notice) -> dict[str, str]:
    """Each text field of a notice that uses coercive wording, with the phrase named (R8, R10)."""
    errors = {}
    for item in (*NOTICE_ITEMS, "other"):
        for lang in ("zh", "en"):
            phrases = coercive_phrases(getattr(notice, f"{item}_{lang}"))
            if phrases:
                errors[f"{item}_{lang}"] = _(
                    "“%(phrase)s” tells people face recognition is compulsory. It may not be: "
                    "name the alternatives instead (Measures Art 10)."
                ) % {"phrase": phrases[0]}
    return errors


class AgeAttester(models.TextChoices):
    """Who may vouch for a person's age when no date of birth is on record."""

    STAFF = "staff", _("staff member who saw an identity document")
    GUARDIAN = "guardian", _("parent or guardian")
    SELF = "self", _("the person, on a FaceRights page")


class ConsentRecord(models.Model):
    """One separate consent (单独同意) of one subject, to one system, for one purpose.

    Withdrawal is a state change plus a ConsentEvent: the record itself is
    never deleted, so the history can always be shown and proved.
    """

    class Method(models.TextChoices):
        SEPARATE = "separate", _("separate electronic consent")
        WRITTEN = "written", _("written consent (signed record)")
        GUARDIAN = "guardian", _("consent of a parent or guardian")

    class State(models.TextChoices):
        ACTIVE = "active", _("given")
        NEEDS_RECONSENT = "needs_reconsent", _("needs renewed consent")  # purpose, method or data changed (R7)
        SUPERSEDED = "superseded", _("replaced by a newer consent")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("portal")
        DEVICE = "device", _("at the device")
        COUNTER = "counter", _("at a counter, on paper")
        API = "api", _("reported by the system")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.PROTECT, related_name="consents"
    )
    system = models.ForeignKey(
        "dataops.ProcessingSystem",
        verbose_name=_("processing system"),
        on_delete=models.PROTECT,
        related_name="consents",
    )
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="consents")
    notice = models.ForeignKey(Notice, verbose_name=_("notice"), on_delete=models.PROTECT, related_name="consents")
    method = models.CharField(_("method"), max_length=16, choices=Method.choices)
    guardian = models.ForeignKey(
        DataSubject,
        verbose_name=_("guardian"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consents_given_as_guardian",
    )
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.ACTIVE)
    given_at = models.DateTimeField(_("given"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    ip_prefix = models.CharField(_("network (IP prefix)"), max_length=64, blank=True)
    user_agent = models.CharField(_("browser or device"), max_length=255, blank=True)
    artifact_sha256 = models.CharField(_("SHA-256 of the signed record"), max_length=64, blank=True)
    # With no date of birth on record, who vouched that the person is over 14 (never a device alone).
    age_attested_by = models.CharField(_("age attested by"), max_length=100, blank=True)
    age_attested_role = models.CharField(_("attested as"), max_length=16, choices=AgeAttester.choices, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "system", "purpose"],
                condition=Q(state__in=["active", "needs_reconsent"]),
                name="consent_one_current_per_purpose",
            ),
            models.CheckConstraint(
                condition=~Q(method="guardian") | Q(guardian__isnull=False), name="consent_guardian_named"
            ),
            models.CheckConstraint(
                condition=~Q(state="withdrawn") | Q(withdrawn_at__isnull=False), name="consent_withdrawn_dated"
            ),
        ]
        indexes = [models.Index(fields=["system", "state"], name="consent_system_state_idx")]

    def __str__(self) -> str:
        return f"{self.subject} / {self.system} / {self.purpose.code}"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"


class ConsentEvent(models.Model):
    """The history of a consent: given, withdrawn, renewal required, replaced."""

    class Kind(models.TextChoices):
        GIVEN = "given", _("given")
        WITHDRAWN = "withdrawn", _("withdrawn")
        RECONSENT_REQUIRED = "reconsent_required", _("renewed consent required")
        SUPERSEDED = "superseded", _("replaced by a newer consent")

    record = models.ForeignKey(
        ConsentRecord, verbose_name=_("consent"), on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    at = models.DateTimeField(_("time"))
    actor = models.CharField(_("actor"), max_length=128)
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentRecord.Channel.choices, blank=True)
    ip_prefix = models.CharField(_("network (IP prefix)"), max_length=64, blank=True)
    user_agent = models.CharField(_("browser or device"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class EnrolmentCode(models.Model):
    """A one-time code shown or printed at enrolment, to link an account to a subject's data."""

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.CASCADE, related_name="enrolment_codes"
    )
    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("enrolment code")
        verbose_name_plural = _("enrolment codes")

    def __str__(self) -> str:
        return f"{self.subject} {self.expires_at:%Y-%m-%d}"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.subject_id}"


class IdentityCheck(models.Model):
    """A person asks a DPO to link their account by checking an identity document.

    The scan is the only picture of a person FaceRights ever holds: encrypted,
    never used for recognition, and destroyed when the review ends.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for review")
        APPROVED = "approved", _("approved: account linked")
        REJECTED = "rejected", _("rejected")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="identity_checks"
    )
    scan_ciphertext = models.BinaryField(null=True, editable=False)
    scan_content_type = models.CharField(max_length=32, editable=False)
    scan_sha256 = models.CharField(_("SHA-256 of the scan"), max_length=64, editable=False)
    note_ciphertext = models.BinaryField(null=True, editable=False)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING, editable=False)
    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decision_reason = models.CharField(_("reason given to the person"), max_length=255, blank=True)
    reviewed_by = models.CharField(_("reviewed by"), max_length=128, blank=True, editable=False)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("identity check")
        verbose_name_plural = _("identity checks")
        permissions = [("review_identitycheck", _("Can approve or reject identity checks"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(state="pending") | Q(scan_ciphertext__isnull=True),
                name="identity_check_scan_destroyed_after_review",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_state_display()} {self.created_at:%Y-%m-%d}"


class DeceasedRepresentation(models.Model):
    """A close relative asks to exercise a deceased person's rights (PIPL Art 49), proven to a DPO.

    The proof (a death certificate and proof of the relationship) is encrypted, seen only by
    the DPO and destroyed when the review ends, as for identity checks. Once approved, the
    relative acts for the deceased person: their requests are filed under the deceased
    person's record, made by the relative. Refused where the deceased arranged otherwise.
    """

    class Relationship(models.TextChoices):
        SPOUSE = "spouse", _("spouse")
        PARENT = "parent", _("parent")
        CHILD = "child", _("child")
        SIBLING = "sibling", _("brother or sister")
        GRANDPARENT = "grandparent", _("grandparent")
        GRANDCHILD = "grandchild", _("grandchild")

    class State(models.TextChoices):
        PENDING = "pending", _("waiting for review")
        APPROVED = "approved", _("approved: the relative acts for the deceased person")
        REJECTED = "rejected", _("rejected")

    relative = models.ForeignKey(
        DataSubject, verbose_name=_("close relative"), on_delete=models.PROTECT, related_name="representations"
    )
    relationship = models.CharField(_("relationship"), max_length=12, choices=Relationship.choices)
    deceased = models.ForeignKey(
        DataSubject,
        verbose_name=_("deceased person"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="represented_by",
        editable=False,
    )
    proof_ciphertext = models.BinaryField(null=True, editable=False)
    proof_content_type = models.CharField(max_length=32, editable=False)
    proof_sha256 = models.CharField(_("SHA-256 of the proof"), max_length=64, editable=False)
    note_ciphertext = models.BinaryField(null=True, editable=False)  # who the deceased was, in the relative's words
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING, editable=False)
    decision_reason = models.CharField(_("reason given to the relative"), max_length=255, blank=True)
    reviewed_by = models.CharField(_("reviewed by"), max_length=128, blank=True, editable=False)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("deceased person's relative")
        verbose_name_plural = _("deceased persons' relatives")
        constraints = [
            models.CheckConstraint(
                condition=Q(state="pending") | Q(proof_ciphertext__isnull=True),
                name="deceased_proof_destroyed_after_review",
            ),
            models.CheckConstraint(
                condition=~Q(state="approved") | Q(deceased__isnull=False), name="deceased_approved_names_the_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_state_display()} {self.created_at:%Y-%m-%d}"


class SubjectMatchReview(models.Model):
    """A report matched a known person by a shared identifier, but may be someone else.

    A parent's phone reported for a child, or a date of birth that differs: the two are
    never merged. A separate person is created and the DPO reviews the match.
    """

    class Reason(models.TextChoices):
        DATE_OF_BIRTH = "date_of_birth", _("the dates of birth differ")
        GUARDIAN = "guardian", _("the identifiers are a guardian's")

    class State(models.TextChoices):
        OPEN = "open", _("to review")
        DIFFERENT = "different", _("confirmed: different people")

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("new person"), on_delete=models.PROTECT, related_name="match_reviews"
    )
    matched = models.ForeignKey(
        DataSubject, verbose_name=_("person matched"), on_delete=models.PROTECT, related_name="+"
    )
    reason = models.CharField(_("why they were kept apart"), max_length=16, choices=Reason.choices)
    source = models.CharField(_("reported by"), max_length=128)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN, editable=False)
    decided_by = models.CharField(_("decided by"), max_length=128, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("shared identifier to review")
        verbose_name_plural = _("shared identifiers to review")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.created_at:%Y-%m-%d}"


class ConsentRefusal(models.Model):
    """A person said no to a face consent: no new prompt for that system and purpose for a while (R8)."""

    subject = models.ForeignKey(
        DataSubject, verbose_name=_("data subject"), on_delete=models.CASCADE, related_name="refusals"
    )
    system = models.ForeignKey(
        "dataops.ProcessingSystem",
        verbose_name=_("processing system"),
        on_delete=models.CASCADE,
        related_name="refusals",
    )
    purpose = models.ForeignKey(Purpose, verbose_name=_("purpose"), on_delete=models.CASCADE, related_name="refusals")
    at = models.DateTimeField(_("refused"))

    class Meta:
        verbose_name = _("consent refusal")
        verbose_name_plural = _("consent refusals")
        indexes = [models.Index(fields=["subject", "system", "purpose", "at"], name="refusal_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.subject} / {self.system} / {self.at:%Y-%m-%d}"


class ConsentSession(models.Model):
    """A consent asked where the face is captured: a device opens it, the person answers on their phone or a
    desk tablet, and the device gets the outcome and, for a consent, a single-use token its enrolment carries.

    The page's address carries a random token, kept here only as its SHA-256; the session expires
    soon after it opens. The notice served is the one the person read and answered under.
    """

    class State(models.TextChoices):
        OPEN = "open", _("waiting for the person")
        CONSENTED = "consented", _("consented")
        ALTERNATIVE = "alternative", _("chose the alternative")
        DECLINED = "declined", _("declined")
        GUARDIAN_NEEDED = "guardian_needed", _("a guardian must consent")
        EXPIRED = "expired", _("expired unanswered")

    ANSWERED = (State.CONSENTED, State.ALTERNATIVE, State.DECLINED, State.GUARDIAN_NEEDED)

    public_id = models.UUIDField(_("session id"), default=uuid.uuid4, unique=True, editable=False)
    page_token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    system = models.ForeignKey(
        "dataops.ProcessingSystem",
        verbose_name=_("processing system"),
        on_delete=models.PROTECT,
        related_name="consent_sessions",
    )
    purpose = models.ForeignKey(
        Purpose, verbose_name=_("purpose"), on_delete=models.PROTECT, related_name="consent_sessions"
    )
    # The device's own pseudonymous key for the person: the enrolment is reported under it.
    subject_key = models.CharField(_("the system's key for the person"), max_length=128)
    language = models.CharField(_("language"), max_length=8, default="zh-hans")
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN, editable=False)
    notice = models.ForeignKey(
        Notice,
        verbose_name=_("notice answered under"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consent_sessions",
        editable=False,
    )
    subject = models.ForeignKey(
        DataSubject,
        verbose_name=_("data subject"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="consent_sessions",
        editable=False,
    )
    record = models.OneToOneField(
        ConsentRecord,
        verbose_name=_("consent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="session",
        editable=False,
    )
    created_at = models.DateTimeField(_("opened"))
    expires_at = models.DateTimeField(_("expires"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True, editable=False)
    token_used_at = models.DateTimeField(_("token used"), null=True, blank=True, editable=False)
    # A child's guardian confirming by a code to their phone: the phone is kept only as its keyed hash.
    guardian_phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    guardian_code_hash = models.CharField(max_length=64, blank=True, editable=False)
    guardian_code_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    guardian_code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("consent session")
        verbose_name_plural = _("consent sessions")
        indexes = [
            models.Index(fields=["system", "subject_key", "purpose", "answered_at"], name="consent_session_prompt_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="consented") | Q(record__isnull=False), name="consent_session_consent_recorded"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.system_id} / {self.purpose_id} / {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def audit_chain(self) -> str:
        # A person's chain once they are known; until then, the registry's (as the system's own events).
        return f"subject:{self.subject_id}" if self.subject_id else "registry"


class ReceiptContact(models.Model):
    """The phone a person gave for a consent's receipt (at a device, where there is no account).

    Used for nothing else: the receipt's link, and the one-time codes that let them withdraw that
    consent from the link without an account. Encrypted under the person's own key, so it is
    unreadable once their identifiers are destroyed.
    """

    record = models.OneToOneField(
        ConsentRecord, verbose_name=_("consent"), on_delete=models.PROTECT, related_name="receipt_contact"
    )
    phone_ciphertext = models.BinaryField(editable=False)
    sends = models.PositiveSmallIntegerField(_("receipts sent"), default=0, editable=False)
    sent_at = models.DateTimeField(_("receipt sent"), editable=False)
    code_hash = models.CharField(max_length=64, blank=True, editable=False)
    code_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    code_attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # Wrong codes over the consent's whole life: past a ceiling the link withdraws no more (the officer does).
    code_failures = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("receipt contact")
        verbose_name_plural = _("receipt contacts")

    def __str__(self) -> str:
        return f"{self.record_id}"

    @property
    def audit_chain(self) -> str:
        return f"subject:{self.record.subject_id}"


class SignedConsent(models.Model):
    """The signed record of a written consent (R4; consent/written.py), kept exactly as signed.

    The full text as shown, the name typed, the time and how the person signed, encrypted under
    the person's own key: unreadable once their identifiers are destroyed, while its SHA-256
    stays with the consent and in their audit chain.
    """

    record = models.OneToOneField(
        ConsentRecord, verbose_name=_("consent"), on_delete=models.PROTECT, related_name="signed_record"
    )
    text_ciphertext = models.BinaryField(editable=False)
    sha256 = models.CharField(_("SHA-256 of the signed record"), max_length=64, editable=False)
    language = models.CharField(_("language"), max_length=8, editable=False)
    signed_at = models.DateTimeField(_("signed"), editable=False)

    class Meta:
        verbose_name = _("signed record of a written consent")
        verbose_name_plural = _("signed records of written consents")

    def __str__(self) -> str:
        return f"{self.record_id} · {self.sha256[:12]}"
