"""A consent's receipt link: the receipt again, and withdrawal without an account, by a code to the phone given.

Where a person consented at a device there is no account. On the page they answered on they may
give a phone number: FaceRights texts them the receipt's link (a registered SMS template), and
keeps the number, encrypted under their own key, for nothing but this consent. The link is in
every receipt as its withdrawal method; it opens the receipt, and withdraws the consent once the
person types the one-time code sent to that phone (five tries, ten minutes). The link alone
withdraws nothing: it may be forwarded, printed or seen on a shared tablet; the phone is the proof.

Without a phone on record the page says how else to withdraw (the portal, the front desk): a
number typed on that page would let anyone withdraw anyone's consent.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights import crypto
from facerights.audit import audit_record
from facerights.sms import mask_phone, sms_send

from .models import ConsentRecord, ReceiptContact
from .rules import normalize_phone
from .services import subject_decrypt, subject_encrypt

SALT = "facerights.receipt-link"  # a namespace for the signature, not a secret
SENDS = 5  # receipts texted for one consent, ever: the page cannot be used to text a number again and again
CODE_ATTEMPTS = 5
CODE_MINUTES = 10
FAILURES_CEILING = 20  # wrong codes over the consent's life: then the link withdraws no more; the officer does


def receipt_link_token(record: ConsentRecord) -> str:
    # No timestamp: the same consent always has the same link, so its receipt is the same bytes each time.
    return signing.Signer(salt=SALT).sign(str(record.pk))


def receipt_link_url(record: ConsentRecord) -> str:
    return settings.FACERIGHTS_BASE_URL + reverse("portal:receipt_link", args=[receipt_link_token(record)])


def receipt_link_record(token: str) -> ConsentRecord | None:
    """The consent a receipt link names, or None for a link that is not ours."""
    try:
        pk = int(signing.Signer(salt=SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    return ConsentRecord.objects.select_related("subject", "system__entity", "purpose", "notice").filter(pk=pk).first()


def _label(record: ConsentRecord) -> str:
    return f"receipt:{record.pk}"


def receipt_phone(record: ConsentRecord) -> str | None:
    """The phone given for this consent's receipt, in clear; None if none was, or it was destroyed."""
    contact = ReceiptContact.objects.filter(record=record).first()
    if contact is None or record.subject.wrapped_key is None:
        return None
    return subject_decrypt(record.subject, bytes(contact.phone_ciphertext), label=_label(record))


def receipt_phone_masked(record: ConsentRecord) -> str:
    phone = receipt_phone(record)
    return mask_phone(phone) if phone else ""


def _sms_params(record: ConsentRecord) -> dict[str, str]:
    return {"company": record.system.entity.name_zh, "system": record.system.name_zh}


def receipt_send(*, actor: str, record: ConsentRecord, phone: str) -> ReceiptContact:
    """Text the receipt's link to the phone the person gave, and keep the number for withdrawal codes."""
    normalized = normalize_phone(phone)  # ValidationError with a clear message for a malformed number
    if record.subject.wrapped_key is None:
        raise ValidationError(_("This consent's person is no longer on record."), code="shredded")
    ciphertext = subject_encrypt(record.subject, normalized, label=_label(record))
    now = timezone.now()
    with transaction.atomic():
        contact = ReceiptContact.objects.select_for_update().filter(record=record).first()
        if contact is not None and contact.sends >= SENDS:
            raise ValidationError(
                _("The receipt has been sent too many times: download it on this page instead."), code="sends"
            )
        if contact is None:
            contact = ReceiptContact(record=record, phone_ciphertext=ciphertext)
        elif receipt_phone(record) != normalized:
            # The first number stays: the number is what withdraws the consent, and whoever else holds the
            # page's address (the device, a photo of the QR code, the next guest) must not replace it.
            raise ValidationError(
                _("A number is already on record for this receipt: it is sent only to that number."), code="phone_set"
            )
        contact.sent_at, contact.sends = now, contact.sends + 1
        contact.save()
        audit_record(actor=actor, action="consent.receipt_sent", target=contact, data={"consent": record.pk})
    sms_send(normalized, "consent_receipt", {**_sms_params(record), "url": receipt_link_url(record)})
    return contact


def _code_digest(contact: ReceiptContact, code: str) -> str:
    return crypto.lookup_hash("receipt_code", f"{contact.pk}:{code}")


def receipt_code_send(*, record: ConsentRecord) -> str:
    """Text a one-time code to the phone on record for this consent; return the number, masked, to show."""
    phone = receipt_phone(record)
    if phone is None:
        raise ValidationError(_("No phone number was given for this consent."), code="no_phone")
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        contact = ReceiptContact.objects.select_for_update().get(record=record)
        _refuse_if_locked(contact)
        contact.code_hash, contact.code_sent_at, contact.code_attempts = _code_digest(contact, code), timezone.now(), 0
        contact.save(update_fields=["code_hash", "code_sent_at", "code_attempts"])
        audit_record(actor="receipt_link", action="consent.withdraw_code_sent", target=contact, data={})
    sms_send(phone, "withdraw_code", {**_sms_params(record), "code": code})
    return mask_phone(phone)


def receipt_code_check(*, record: ConsentRecord, code: str) -> None:
    """Accept the code once (five tries, ten minutes); raises ValidationError with the reason otherwise."""
    with transaction.atomic():
        contact = ReceiptContact.objects.select_for_update().filter(record=record).first()
        if contact is None or not contact.code_hash or contact.code_sent_at is None:
            raise ValidationError(_("Ask for a code first."), code="no_code")
        _refuse_if_locked(contact)
        if contact.code_attempts >= CODE_ATTEMPTS or timezone.now() > contact.code_sent_at + dt.timedelta(
            minutes=CODE_MINUTES
        ):
            raise ValidationError(_("This code can no longer be used: ask for a new one."), code="code_spent")
        if hmac.compare_digest(contact.code_hash, _code_digest(contact, "".join(code.split()))):
            contact.code_hash = ""
            contact.save(update_fields=["code_hash"])
            audit_record(actor="receipt_link", action="consent.withdraw_code_accepted", target=contact, data={})
            return
        contact.code_attempts += 1
        contact.code_failures += 1
        contact.save(update_fields=["code_attempts", "code_failures"])
    raise ValidationError(_("The code does not match."), code="code_wrong")


def _refuse_if_locked(contact: ReceiptContact) -> None:
    if contact.code_failures >= FAILURES_CEILING:
        raise ValidationError(
            _(
                "Too many wrong codes for this consent: it can no longer be withdrawn from this link. Sign in to the "
                "portal, ask at the front desk, or write to the officer named in your receipt."
            ),
            code="locked",
        )
