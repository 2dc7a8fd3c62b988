"""Following a request without an account: its reference and the lookup code printed on its receipt.

The code is shown once, on the slip; only a keyed hash of the reference and the code is
kept, so neither the database nor a log can give it back. Ten characters of a 31-letter
alphabet carry 49 bits; guesses are limited per reference and per address
(`portal.views.lookup`), so a slip's holder is the only one who can read the status, and
what they read is the request's status and outcome, never anyone's personal data.
"""

from __future__ import annotations

import hmac
import secrets

from django.db import transaction

from facerights import crypto
from facerights.audit import audit_record

from .models import Request

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud and typed from paper
CODE_LENGTH = 10  # 31**10 > 2**49


def _digest(reference: str, code: str) -> str:
    return crypto.lookup_hash("request_lookup", f"{reference}:{code}")


def normalize_code(code: str) -> str:
    """What a person types from the slip: spaces and dashes dropped, any case."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def request_lookup_issue(*, actor: str, request: Request) -> str:
    """A new lookup code for a request's receipt; an earlier slip's code stops working."""
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    with transaction.atomic():
        Request.objects.filter(pk=request.pk).update(lookup_hash=_digest(request.reference, code))
        audit_record(actor=actor, action="request.lookup_code_issued", target=request, data={})
    return code


def request_lookup_find(reference: str, code: str) -> Request | None:
    """The request a slip's reference and code name, or None (a wrong code and an unknown reference alike)."""
    reference = normalize_code(reference)
    code = normalize_code(code)
    request = Request.objects.filter(reference=reference).exclude(lookup_hash="").first()
    expected = _digest(reference, code)
    if request is None:
        hmac.compare_digest(expected, expected)  # the same work either way
        return None
    return request if hmac.compare_digest(request.lookup_hash, expected) else None


def format_code(code: str) -> str:
    """As printed: two groups of five, easier to copy."""
    return f"{code[:5]}-{code[5:]}"
