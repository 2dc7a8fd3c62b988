"""Pure rules of the consent ledger: ages, identifier normalisation."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

GUARDIAN_CONSENT_AGE = 14


def birthday_in(year: int, date_of_birth: dt.date) -> dt.date:
    """The birthday in `year`; 29 February falls on 1 March in a common year.

    1 March rather than 28 February is the safer reading: it keeps a child
    under the guardian rule one day longer (docs/legal-readings.md).
    """
    try:
        return date_of_birth.replace(year=year)
    except ValueError:
        return dt.date(year, 3, 1)


def is_under(age: int, date_of_birth: dt.date, on: dt.date) -> bool:
    """Whether a person born on `date_of_birth` is still under `age` (周岁) on `on`.

    周岁 are counted from the day after the birthday (the convention of the Supreme
    People's Court for ages in law), so on the birthday itself the person is still under
    `age`: the safer reading for a rule that protects children (docs/legal-readings.md).
    """
    return on <= birthday_in(date_of_birth.year + age, date_of_birth)


def needs_guardian_consent(date_of_birth: dt.date | None, on: dt.date) -> bool:
    """Under 14 on the day of processing, the 14th birthday included (Measures Art 7, PIPL Art 31).

    An unknown date of birth answers False here; consent_grant refuses a consent whose
    subject's age is neither known nor attested, so unknown never means adult.
    """
    return date_of_birth is not None and is_under(GUARDIAN_CONSENT_AGE, date_of_birth, on)


_PHONE_SEPARATORS = re.compile(r"[\s\-()]")


def normalize_phone(value: str) -> str:
    """E.164; a bare 11-digit mainland mobile number gets +86."""
    digits = _PHONE_SEPARATORS.sub("", value or "")
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        digits = "+86" + digits
    elif digits.startswith("0086"):
        digits = "+" + digits[2:]
    if not re.fullmatch(r"\+[1-9]\d{6,14}", digits):
        raise ValidationError(_("Enter a phone number, such as 13800138000 or +8613800138000."), code="phone")
    return digits


def normalize_email(value: str) -> str:
    email = (value or "").strip().lower()
    validate_email(email)
    return email


def normalize_external(value: str) -> str:
    value = (value or "").strip()
    if not value or len(value) > 128:
        raise ValidationError(_("An external id is 1 to 128 characters."), code="external")
    return value


NORMALIZERS = {"phone": normalize_phone, "email": normalize_email, "external": normalize_external}


def normalize_identifier(kind: str, value: str) -> str:
    try:
        return NORMALIZERS[kind](value)
    except KeyError:
        raise ValidationError(_("Unknown kind of identifier."), code="kind") from None


def ip_prefix(address: str | None) -> str:
    """The /24 (IPv4) or /48 (IPv6) network of an address: evidence without the full address."""
    if not address:
        return ""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
