"""Validation of registry fields."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# GB 32100-2015: the unified social credit code (统一社会信用代码) uses 31
# characters (no I, O, Z, S, V) and ends with a check character.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_character(first17: str) -> str:
    total = sum(
        CREDIT_CODE_CHARSET.index(char) * weight for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    code = (value or "").strip().upper()
    if len(code) != 18:
        raise ValidationError(
            _("A unified social credit code has 18 characters; this one has %(count)d."),
            code="length",
            params={"count": len(code)},
        )
    bad = sorted({char for char in code if char not in CREDIT_CODE_CHARSET})
    if bad:
        raise ValidationError(
            _("A unified social credit code cannot contain %(chars)s (the letters I, O, Z, S and V are never used)."),
            code="charset",
            params={"chars": ", ".join(bad)},
        )
    if not code[2:8].isdigit():
        raise ValidationError(_("Characters 3 to 8 of the code are the region code and must be digits."), code="region")
    expected = credit_code_check_character(code[:17])
    if code[17] != expected:
        raise ValidationError(
            _(
                "The last character is a check character and does not match: check the code against the business licence."
            ),
            code="check",
        )


def is_public_address(address: str) -> bool:
    """A global unicast address: not loopback, private, link-local, reserved or multicast."""
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


def webhook_internal_address(url: str) -> str | None:
    """The first non-public address a webhook's host resolves to; None when every one is public, or the name
    does not resolve (yet): only what is certainly internal is flagged."""
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    try:
        infos = socket.getaddrinfo(
            parts.hostname, parts.port or (443 if parts.scheme == "https" else 80), proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError, ValueError):
        return None
    for info in infos:
        address = str(info[4][0])
        if not is_public_address(address):
            return address
    return None
