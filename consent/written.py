"""Written consent (R4): the signed record itself, for a system that needs written consent.

PIPL Art 29 requires written consent where a law or an administrative regulation says so, and
Civil Code Art 469 counts as written form an electronic record whose content can be shown in
tangible form and retrieved at any time. So FaceRights keeps the record itself, not only a
fingerprint of one kept elsewhere (docs/legal-readings.md, "Written consent"):

1. The page shows the text to sign (`written_consent_body`): the handler, the system, the
   purpose, the notice exactly as published, and the statement, in the person's language. The
   SHA-256 of that text travels with the form.
2. The person types their full name and signs. `written_consent_sign` rebuilds the text and
   refuses if it is not the one shown (the notice changed meanwhile), adds the signature block
   (name, time, where and how they signed) and keeps the whole text, byte for byte, encrypted
   under the person's own key (unreadable once their identifiers are destroyed). Its SHA-256
   is the consent's `artifact_sha256` and goes into the person's audit chain.
3. The person and the DPO retrieve it byte for byte (`signed_consent_text`) and anyone can
   recompute its fingerprint (`signed_consent_verify`); the receipt prints it in full.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import cast

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from facerights import crypto
from facerights.audit import audit_record
from facerights.present import moment_text

from .models import ConsentRecord, DataSubject, Notice, Purpose, SignedConsent
from .services import ConsentError, Provenance, System, consent_grant, subject_decrypt, subject_encrypt

LABEL = "signed_consent"  # binds the ciphertext to this use (consent.services.subject_encrypt)
NAME_MAX = 60


class Where:
    """How the person signed: part of the signed text, in its language."""

    PORTAL = "portal"
    DEVICE = "device"


def _where(where: str) -> str:
    if where == Where.PORTAL:
        return _("on the FaceRights portal, signed in to the signer's own account")
    return _("on the page the device showed, opened from its QR code or on the desk's tablet")


@dataclass(frozen=True)
class Signature:
    """What the person did on the page: the name they typed, and the fingerprint of the text they were shown
    in `language` (the page's: a person may read it in English on a Chinese device)."""

    name: str
    shown_sha256: str
    language: str


def _items() -> list[tuple[str, str]]:
    return [
        ("handler", _("Who processes your facial information, and how to reach them")),
        ("purpose", _("Purpose")),
        ("method", _("How it is processed")),
        ("retention", _("How long it is kept")),
        ("necessity", _("Why it is necessary")),
        ("impact", _("Impact on your rights")),
        ("rights", _("How to exercise your rights")),
        ("alternatives", _("Ways to verify without your face")),
        ("other", _("Other matters")),
    ]


def written_consent_body(
    *,
    system: System,
    purpose: Purpose,
    notice: Notice,
    language: str,
    for_child: bool = False,
    with_transmission: bool = False,
) -> str:
    """The text a person signs, without the signature block: the same bytes every time for the same notice.

    `with_transmission` adds the separate consent to sending faces over the internet, in a sentence of
    its own, where the page records that consent with this one (a device's page; the portal asks it on
    its own screen).
    """
    lang = "en" if language.startswith("en") else "zh"
    with translation.override("en" if lang == "en" else "zh-hans"):
        text = cast("dict[str, dict[str, str]]", notice.snapshot or {}).get(lang) or {}
        name = (system.name_en or system.name_zh) if lang == "en" else system.name_zh
        purpose_name = (purpose.name_en or purpose.name_zh) if lang == "en" else purpose.name_zh
        colon = _colon(lang)
        system_label, purpose_label = _("System"), _("Purpose")
        lines = [
            _("Written consent to face recognition"),
            "",
            f"{system_label}{colon}{name}",
            f"{purpose_label}{colon}{purpose_name}",
            _("Notice version %(version)s, SHA-256 %(digest)s") % {"version": notice.version, "digest": notice.digest},
            "",
        ]
        for key, label in _items():
            if text.get(key):
                lines += [f"{label}{colon.strip()}", text[key].strip(), ""]
        lines.append(
            _(
                "As the parent or guardian of the child named in this consent, I have read the notice above and "
                "consent in writing to this system processing the child's facial information for this purpose."
            )
            if for_child
            else _(
                "I have read the notice above and consent in writing to this system processing my facial "
                "information for this purpose."
            )
        )
        if with_transmission and system.internet_transmission:  # a consent of its own (Measures Art 8)
            lines.append(
                _(
                    "Separately, I consent in writing to this system sending the child's facial information over "
                    "the internet for this purpose."
                )
                if for_child
                else _(
                    "Separately, I consent in writing to this system sending my facial information over the "
                    "internet for this purpose."
                )
            )
        lines.append(_("I may withdraw this consent at any time, as easily as I gave it."))
    return "\n".join(lines).replace("\r\n", "\n") + "\n"


def _colon(language: str) -> str:
    """A label's colon as the text's language writes it: 签署人：王小明, Signed by: Li Lei."""
    return ": " if language.startswith("en") else "："


def written_consent_fingerprint(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def _signature_block(*, name: str, at: dt.datetime, where: str, language: str) -> str:
    with translation.override("en" if language.startswith("en") else "zh-hans"):
        signed_by, signed_at, signed_through = _("Signed by"), _("Signed at"), _("Signed through")
        when = f"{moment_text(at, language)} ({timezone.localtime(at).isoformat(timespec='seconds')})"
        colon = _colon(language)
        lines = [f"{signed_by}{colon}{name}", f"{signed_at}{colon}{when}", f"{signed_through}{colon}{_where(where)}"]
        return "\n".join(["", *lines, ""])


def signature_name_clean(name: str) -> str:
    """The name as typed, trimmed; a name on one line, of a person's length. Raises ConsentError otherwise."""
    name = " ".join((name or "").split())
    if not name:
        raise ConsentError(_("Type your full name to sign: this system needs your written consent."), code="signature")
    if len(name) > NAME_MAX or any(not ch.isprintable() for ch in name):
        raise ConsentError(_("Type your full name as you would sign it, on one line."), code="signature")
    return name


def signature_check(
    *,
    system: System,
    purpose: Purpose,
    notice: Notice,
    signature: Signature | None,
    for_child: bool = False,
    with_transmission: bool = False,
) -> tuple[str, str]:
    """The text signed and the signer's name, if the signature is of the text the page shows now.

    Raises ConsentError: no name typed, or the text changed since the page was shown (a new notice).
    """
    if signature is None:
        raise ConsentError(_("Type your full name to sign: this system needs your written consent."), code="signature")
    name = signature_name_clean(signature.name)
    body = written_consent_body(
        system=system,
        purpose=purpose,
        notice=notice,
        language=signature.language,
        for_child=for_child,
        with_transmission=with_transmission,
    )
    if written_consent_fingerprint(body) != signature.shown_sha256:
        raise ConsentError(
            _("The text to sign changed while you were reading it: read the current one and sign again."),
            code="notice_changed",
        )
    return body, name


def written_consent_sign(
    *,
    actor: str,
    subject: DataSubject,
    system: System,
    purpose: Purpose,
    notice: Notice,
    provenance: Provenance,
    signature: Signature | None,
    where: str,
    guardian: DataSubject | None = None,
    at: dt.datetime | None = None,
) -> ConsentRecord:
    """Record a written consent with its signed record (R4). Raises ConsentError, recording nothing, when the
    signature is missing or the text signed is not the one the page shows now.

    `where` (a `Where` value) says how they signed, signed in to the portal or on the page a device
    opened: it is part of the signed text. The signed record replaces a consent current under the same
    notice (consent_grant: a new signed record is a new consent).
    """
    at = at or timezone.now()
    body, name = signature_check(
        system=system,
        purpose=purpose,
        notice=notice,
        signature=signature,
        for_child=guardian is not None,
        with_transmission=where == Where.DEVICE,
    )
    language = cast(Signature, signature).language
    text = body + _signature_block(name=name, at=at, where=where, language=language)
    digest = written_consent_fingerprint(text)
    with transaction.atomic():
        record = consent_grant(
            actor=actor,
            subject=subject,
            system=system,
            purpose=purpose,
            notice=notice,
            provenance=provenance,
            method=ConsentRecord.Method.GUARDIAN if guardian is not None else ConsentRecord.Method.WRITTEN,
            guardian=guardian,
            artifact_sha256=digest,
            at=at,
        )
        SignedConsent.objects.create(
            record=record,
            text_ciphertext=subject_encrypt(subject, text, label=LABEL),
            sha256=digest,
            language="en" if language.startswith("en") else "zh-hans",
            signed_at=at,
        )
        audit_record(actor=actor, action="consent.signed", target=record, data={"sha256": digest})
    return record


def consent_give_signed_if_required(
    *,
    actor: str,
    subject: DataSubject,
    system: System,
    purpose: Purpose,
    notice: Notice,
    provenance: Provenance,
    signature: Signature | None,
    where: str,
    guardian: DataSubject | None = None,
    at: dt.datetime | None = None,
) -> ConsentRecord:
    """A consent given on a FaceRights page: signed in writing where the system requires it (R4), else separate."""
    if system.requires_written_consent:
        return written_consent_sign(
            actor=actor,
            subject=subject,
            system=system,
            purpose=purpose,
            notice=notice,
            provenance=provenance,
            signature=signature,
            where=where,
            guardian=guardian,
            at=at,
        )
    return consent_grant(
        actor=actor,
        subject=subject,
        system=system,
        purpose=purpose,
        notice=notice,
        provenance=provenance,
        method=ConsentRecord.Method.GUARDIAN if guardian is not None else ConsentRecord.Method.SEPARATE,
        guardian=guardian,
        at=at,
    )


def signed_consent_text(record: ConsentRecord) -> str | None:
    """The signed record of a written consent, exactly as signed; None when there is none, or it is shredded."""
    # A consent to transmission given on the same page carries the same signed record's fingerprint (sessions.py).
    found = Q(record=record)
    if record.artifact_sha256:
        found |= Q(record__subject_id=record.subject_id, sha256=record.artifact_sha256)
    signed = SignedConsent.objects.filter(found).select_related("record__subject").first()
    if signed is None:
        return None
    try:
        return subject_decrypt(signed.record.subject, bytes(signed.text_ciphertext), label=LABEL)
    except crypto.DecryptionError:  # the person's key is destroyed: the fingerprint remains, the text does not
        return None


def signed_consent_verify(record: ConsentRecord) -> bool:
    """Whether the kept text still has the fingerprint the consent was given with."""
    text = signed_consent_text(record)
    return text is not None and written_consent_fingerprint(text) == record.artifact_sha256
