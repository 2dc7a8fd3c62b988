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
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facerights.present import date_text

from ...registry.models import ProcessingSystem
from ..models import DeletionRequest, Propagation
from ..opening import trace_ids
from ..propagations import propagation_mark_sent
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
        for propagation in batch:
            _email_vendor(system, propagation)


def _email_vendor(system: ProcessingSystem, propagation: Propagation) -> None:
    link = confirmation_link(propagation)
    with translation.override("zh-hans"):
        body = _(
            "Please delete the facial data held under the key %(key)s by %(deadline)s, then confirm at:\n%(link)s\n"
            "The link works once and expires in 14 days."
        ) % {"key": propagation.subject_key, "deadline": date_text(propagation.deadline, "zh"), "link": link}
        if propagation.deletion_request.trigger == DeletionRequest.Trigger.CONTRACT_ENDED:
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
