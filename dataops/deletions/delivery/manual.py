"""Manual: a vendor without an API confirms each deletion through a signed link.

The link is signed, expires, and works once: each email carries a fresh
nonce, and the nonce is consumed by the confirmation. Reminders follow at the
system's interval until the vendor confirms; the deadline escalates it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from typing import cast

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facerights.present import date_text

from ...registry.models import ProcessingSystem
from ..models import Propagation, VendorDigest
from ..opening import trace_ids
from ..propagations import certificate_required, propagation_mark_sent
from ..states import TERMINAL, Action
from .base import Answer, Channel

logger = logging.getLogger(__name__)

SALT = "facerights.manual-confirmation"
LINK_LIFETIME = dt.timedelta(days=14)


class LinkError(Exception):
    """A link that is invalid, expired or already used."""


def confirmation_token(propagation: Propagation) -> str:
    """Issue a fresh single-use token (any earlier one of this propagation stops working)."""
    nonce = secrets.token_hex(16)
    Propagation.objects.filter(pk=propagation.pk).update(manual_nonce=nonce)
    return signing.dumps({"p": propagation.pk, "n": nonce}, salt=SALT, compress=True)


def confirmation_link(propagation: Propagation) -> str:
    return f"{settings.FACERIGHTS_BASE_URL}/vendor/deletions/{confirmation_token(propagation)}/"


class ManualChannel(Channel):
    """A person at a vendor without an API: an email per instruction with a single-use link, and reminders."""

    mode = ProcessingSystem.Integration.MANUAL
    batch_size = 20
    actor_kind = "vendor"
    evidence_key = None  # the confirmation form is ours: its fields are the evidence

    def deliver(self, system: ProcessingSystem, batch: list[Propagation]) -> None:
        # A restriction, or its lifting, is never one line of a deletion digest: it asks for something else.
        deleting = [p for p in batch if p.deletion_request.action == Action.DELETE]
        if deleting and _digest_mode(system):
            _digest_deliver(system, deleting)
            batch = [p for p in batch if p.deletion_request.action != Action.DELETE]
        for propagation in batch:
            _email_vendor(system, propagation)


# More open instructions than this for one vendor at once, and they go out as one digest.
DIGEST_FROM = 20
DIGEST_SALT = "facerights.vendor-digest"


def _digest_mode(system: ProcessingSystem) -> bool:
    if VendorDigest.objects.filter(system=system, closed_at__isnull=True).exists():
        return True  # a digest is open: what comes due joins it
    return (
        Propagation.objects.filter(system=system, deletion_request__action=Action.DELETE)
        .exclude(state__in=TERMINAL)
        .count()
        > DIGEST_FROM
    )


def _digest_deliver(system: ProcessingSystem, batch: list[Propagation]) -> None:
    """Add the batch to the system's open digest; email its link once per reminder interval, not per person."""
    now = timezone.now()
    with transaction.atomic():
        digest = VendorDigest.objects.select_for_update().filter(system=system, closed_at__isnull=True).first()
        if digest is None:
            digest = VendorDigest.objects.create(system=system)
        Propagation.objects.filter(pk__in=[p.pk for p in batch]).update(digest=digest)
        interval = dt.timedelta(hours=system.reminder_hours)
        email_due = digest.last_sent_at is None or digest.last_sent_at <= now - interval
        if email_due:
            digest.nonce = secrets.token_hex(16)  # any earlier link of this digest stops working
            digest.last_sent_at = now
            digest.save(update_fields=["nonce", "last_sent_at"])
    if email_due:  # as for a single instruction: the link is stored, then sent
        _email_digest(system, digest, digest_token(digest))
    for propagation in batch:
        propagation_mark_sent(actor="task:manual", propagation=propagation, next_attempt_at=now + interval)


def digest_token(digest: VendorDigest) -> str:
    """The signed link token of a digest's current nonce (a new nonce voids the earlier links)."""
    return signing.dumps({"d": digest.pk, "n": digest.nonce}, salt=DIGEST_SALT, compress=True)


def digest_open(digest: VendorDigest) -> QuerySet[Propagation]:
    """The digest's instructions still waiting for the vendor."""
    return digest.propagations.exclude(state__in=TERMINAL).select_related("deletion_request", "system")


def _email_digest(system: ProcessingSystem, digest: VendorDigest, token: str) -> None:
    waiting = digest_open(digest)
    # Everything waiting for this vendor, not only what joined the digest so far: the rest joins it in turn.
    open_for_system = Propagation.objects.filter(system=system, deletion_request__action=Action.DELETE).exclude(
        state__in=TERMINAL
    )
    count = open_for_system.count()
    earliest = open_for_system.order_by("deadline").values_list("deadline", flat=True).first()
    link = f"{settings.FACERIGHTS_BASE_URL}/vendor/digests/{token}/"
    with translation.override("zh-hans"):
        body = _(
            "%(count)d deletions of facial data are waiting for you at %(system)s, the first due by %(deadline)s. "
            "The list of keys and one form to confirm them all are at:\n%(link)s\n"
            "The link works once and expires in 14 days; a reminder follows while any remain open."
        ) % {"count": count, "system": system.name_zh, "deadline": date_text(earliest, "zh"), "link": link}
        if any(certificate_required(p) for p in waiting[:1000]):
            body += "\n" + _(
                "Our contract or our use of face recognition has ended: keep nothing (PIPL Art 21), and attach "
                "your deletion certificate when you confirm."
            )
        send_mail(
            _("%(count)d deletion instructions for %(system)s") % {"count": count, "system": system.name_zh},
            body,
            None,
            [system.contact_email],
        )
    logger.info("digest of %s instructions sent to the vendor of system %s", count, system.pk)


def digest_for_link(token: str) -> tuple[VendorDigest, str]:
    try:
        data = signing.loads(token, salt=DIGEST_SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
        raise LinkError(_("This link has expired. A new one is sent with the next reminder.")) from None
    except signing.BadSignature:
        raise LinkError(_("This link is not valid.")) from None
    digest = VendorDigest.objects.select_related("system").filter(pk=data.get("d")).first()
    if digest is None or not digest.nonce or digest.nonce != data.get("n"):
        raise LinkError(_("This link has already been used or replaced by a newer one.")) from None
    return digest, data["n"]


def confirm_digest(
    *,
    token: str,
    outcome: str,
    not_found_keys: set[str],
    performed_by: str,
    performed_at: dt.datetime,
    certificate: File[bytes] | None = None,
) -> int:
    """Confirm every open instruction of a digest at once (those listed as not found, as not found).

    The link is consumed in the same transaction; nothing is written if any confirmation is
    refused (a certificate missing where the law asks for one). Returns how many were confirmed.
    """
    with transaction.atomic():
        digest, nonce = digest_for_link(token)
        # Consumed; what comes due later is emailed with a fresh link at once, not after the reminder interval.
        consumed = VendorDigest.objects.filter(pk=digest.pk, nonce=nonce).update(nonce="", last_sent_at=None)
        if not consumed:
            raise LinkError(_("This link has already been used or replaced by a newer one."))
        waiting = list(digest_open(digest).order_by("pk"))
        evidence = {
            "performed_by": performed_by,
            "performed_at": performed_at.isoformat(),
            "confirmed_at": timezone.now().isoformat(),
            "digest": digest.pk,
            "keys_sha256": hashlib.sha256("\n".join(p.subject_key for p in waiting).encode()).hexdigest(),
        }
        if certificate is not None:
            content = certificate.read()
            digest_sha = hashlib.sha256(content).hexdigest()
            default_storage.save(f"certificates/{digest_sha}", ContentFile(content))
            evidence["certificate_sha256"] = digest_sha
            evidence["certificate_name"] = cast(str, certificate.name)[:100]
        answers = [
            Answer(
                p.idempotency_key,
                Propagation.State.NOT_FOUND if p.subject_key in not_found_keys else outcome,
                "",
                evidence,
            )
            for p in waiting
        ]
        for start in range(0, len(answers), 1000):  # one transaction; statements of a bounded size
            ManualChannel().confirm(digest.system, answers[start : start + 1000], via={"channel": "manual-digest"})
        if not digest_open(digest).exists():
            VendorDigest.objects.filter(pk=digest.pk).update(closed_at=timezone.now())
        return len(answers)


def _email_vendor(system: ProcessingSystem, propagation: Propagation) -> None:
    link = confirmation_link(propagation)
    action = propagation.deletion_request.action
    if action != Action.DELETE:
        _email_vendor_restriction(system, propagation, link)
    else:
        _email_vendor_deletion(system, propagation, link)
    logger.info(
        "instruction to the vendor of system %s sent by email",
        system.pk,
        extra={
            "system": system.pk,
            "deletions": [propagation.deletion_request.reference],
            "request_ids": trace_ids([propagation.deletion_request]),
        },
    )
    propagation_mark_sent(
        actor="task:manual",
        propagation=propagation,
        next_attempt_at=timezone.now() + dt.timedelta(hours=system.reminder_hours),
    )


def _email_vendor_restriction(system: ProcessingSystem, propagation: Propagation, link: str) -> None:
    lift = propagation.deletion_request.action == Action.LIFT_RESTRICTION
    values = {"key": propagation.subject_key, "deadline": date_text(propagation.deadline, "zh"), "link": link}
    with translation.override("zh-hans"):
        if lift:
            body = _(
                "The person held under the key %(key)s lifted their restriction: their facial data may be used "
                "again, only while the consent check says yes. Please confirm by %(deadline)s at:\n%(link)s\n"
                "The link works once and expires in 14 days."
            )
            title = _("Restriction lifted %(ref)s for %(system)s")
        else:
            body = _(
                "The person held under the key %(key)s restricted the processing of their facial data "
                "(PIPL Art 44): keep it, delete nothing, and process no one with it until a lifting instruction "
                "comes. Please confirm by %(deadline)s at:\n%(link)s\nThe link works once and expires in 14 days."
            )
            title = _("Restriction instruction %(ref)s for %(system)s")
        send_mail(
            title % {"ref": propagation.deletion_request.reference, "system": system.name_zh},
            body % values,
            None,
            [system.contact_email],
        )


def _email_vendor_deletion(system: ProcessingSystem, propagation: Propagation, link: str) -> None:
    with translation.override("zh-hans"):
        body = _(
            "Please delete the facial data held under the key %(key)s by %(deadline)s, then confirm at:\n%(link)s\n"
            "The link works once and expires in 14 days."
        ) % {"key": propagation.subject_key, "deadline": date_text(propagation.deadline, "zh"), "link": link}
        if certificate_required(propagation):
            body += "\n" + _(
                "Our contract has ended: keep nothing (PIPL Art 21), and attach your deletion certificate "
                "when you confirm."
            )
        send_mail(
            _("Deletion instruction %(ref)s for %(system)s")
            % {"ref": propagation.deletion_request.reference, "system": system.name_zh},
            body,
            None,
            [system.contact_email],
        )


def propagation_for_link(token: str) -> tuple[Propagation, str]:
    try:
        data = signing.loads(token, salt=SALT, max_age=LINK_LIFETIME)
    except signing.SignatureExpired:
        raise LinkError(_("This link has expired. A new one is sent with the next reminder.")) from None
    except signing.BadSignature:
        raise LinkError(_("This link is not valid.")) from None
    propagation = Propagation.objects.select_related("system", "deletion_request").filter(pk=data.get("p")).first()
    if propagation is None or not propagation.manual_nonce or propagation.manual_nonce != data.get("n"):
        raise LinkError(_("This link has already been used or replaced by a newer one.")) from None
    return propagation, data["n"]


def confirm_by_link(
    *,
    token: str,
    outcome: str,
    reason: str,
    performed_by: str,
    performed_at: dt.datetime,
    certificate: File[bytes] | None = None,
) -> Propagation:
    """Record the vendor's confirmation; the link is consumed in the same transaction."""
    with transaction.atomic():
        propagation, nonce = propagation_for_link(token)
        consumed = Propagation.objects.filter(pk=propagation.pk, manual_nonce=nonce).update(manual_nonce="")
        if not consumed:
            raise LinkError(_("This link has already been used or replaced by a newer one."))
        evidence = {
            "performed_by": performed_by,
            "performed_at": performed_at.isoformat(),
            "confirmed_at": timezone.now().isoformat(),
        }
        if certificate is not None:
            content = certificate.read()
            digest = hashlib.sha256(content).hexdigest()
            default_storage.save(f"certificates/{digest}", ContentFile(content))
            evidence["certificate_sha256"] = digest
            evidence["certificate_name"] = cast(str, certificate.name)[:100]  # an uploaded file has its name
        answer = Answer(propagation.idempotency_key, outcome, reason, evidence)
        ManualChannel().confirm(propagation.system, [answer], via={"channel": "manual"})
        return Propagation.objects.select_related("deletion_request", "system").get(pk=propagation.pk)
