"""Identity documents of the people a filing names: the legal representative and the agent (经办人).

The number is personal information: it is kept encrypted under the master key, with a
masked form for the screens and documents (an identity card's first six and last four
characters; less of a shorter document) and a
keyed digest, so a changed number changes the filing's snapshot without the snapshot ever
holding the number itself. The full number is on the scanned document attached to the
filing (docs/legal-readings.md, "Identity document numbers in filings").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from facerights import crypto


class IdDocumentType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("resident identity card (居民身份证)")
    PASSPORT = "passport", _("passport")
    HK_MACAO_PERMIT = "hk_macao_permit", _("Mainland travel permit for Hong Kong and Macao residents")
    TAIWAN_PERMIT = "taiwan_permit", _("Mainland travel permit for Taiwan residents")
    FOREIGNER_RESIDENCE = "foreigner_residence", _("foreigner's permanent residence identity card")


# GB 11643-1999: 17 digits and a check character computed with these weights (ISO 7064 MOD 11-2).
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number_check(id_type: str, number: str) -> str:
    """The number as kept (trimmed, upper case), or ValidationError saying what is wrong with it."""
    number = re.sub(r"\s+", "", number or "").upper()
    if id_type not in IdDocumentType.values:
        raise ValidationError(_("Choose the kind of identity document."), code="id_type")
    if id_type == IdDocumentType.RESIDENT_ID:
        if not re.fullmatch(r"\d{17}[\dX]", number):
            raise ValidationError(
                _("A resident identity card number has 18 characters: 17 digits and a digit or X."), code="id_number"
            )
        expected = _CHECK[sum(int(d) * w for d, w in zip(number[:17], _WEIGHTS, strict=True)) % 11]
        if number[17] != expected:
            raise ValidationError(
                _("The last character of the identity card number does not match: check it against the card."),
                code="id_check",
            )
    elif not re.fullmatch(r"[A-Z0-9]{6,20}", number):
        raise ValidationError(_("The document number has 6 to 20 letters and digits."), code="id_number")
    return number


@dataclass(frozen=True)
class SealedId:
    ciphertext: bytes
    masked: str
    digest: str


def id_number_seal(number: str, *, aad: bytes) -> SealedId:
    """Encrypt a checked number; keep its masked form and its keyed digest beside it."""
    # An identity card shows its region code and last four; a shorter document less, so most stays hidden.
    head, tail = (6, 4) if len(number) >= 15 else (2, 4) if len(number) >= 10 else (1, 2)
    masked = number[:head] + "*" * (len(number) - head - tail) + number[-tail:]
    return SealedId(
        ciphertext=crypto.secret_encrypt(number, aad=aad),
        masked=masked,
        digest=crypto.lookup_hash("id_document", number),
    )
