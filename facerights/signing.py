"""The deployment's signature on what it issues: filing documents and deletion certificates.

A SHA-256 fingerprint shows that a document was not changed; it does not show who made
it. Each deployment holds an Ed25519 key (`FACERIGHTS_SIGNING_KEY`, docs/keys.md) and signs
the fingerprint it prints, under a label that says what the fingerprint is of:

    message   = "facerights-v1:" + kind + ":" + fingerprint      (kind: "certificate", "filing", "incident_report" or "consent_receipt")
    signature = "ed25519:" + key id + ":" + base64(Ed25519 signature of message)

The key id is the first 16 hex digits of the SHA-256 of the raw public key. Ed25519 is
deterministic: the same fingerprint always gets the same signature, so a document built
twice from the same data is the same bytes. Anyone can check a signature at /verify/, or
offline with the public keys published at /verify/keys.json. Retired keys stay listed
(`FACERIGHTS_SIGNING_OLD_PUBLIC_KEYS`) so what they signed still verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.urls import reverse

KINDS = ("certificate", "filing", "incident_report", "consent_receipt")
# Standard base64, not urlsafe: a "-" at the end of a printed line reads (and copies) as a hyphen.
_SIGNATURE = re.compile(r"^ed25519:([0-9a-f]{16}):([A-Za-z0-9+/]{86}={0,2})$")
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def _private() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(settings.FACERIGHTS_SIGNING_KEY)


def public_keys() -> dict[str, tuple[Ed25519PublicKey, bool]]:
    """Every key whose signatures verify, by id: (key, whether it is the current one)."""
    current = _private().public_key()
    keys = {key_id(current): (current, True)}
    for raw in settings.FACERIGHTS_SIGNING_OLD_PUBLIC_KEYS:
        old = Ed25519PublicKey.from_public_bytes(raw)
        keys.setdefault(key_id(old), (old, False))
    return keys


def _message(kind: str, fingerprint: str) -> bytes:
    if kind not in KINDS or not _FINGERPRINT.match(fingerprint):
        raise ValueError(f"cannot sign {kind!r} {fingerprint!r}")
    return f"facerights-v1:{kind}:{fingerprint}".encode()


def sign(kind: str, fingerprint: str) -> str:
    """The deployment's signature of a fingerprint of a kind, as printed on the document."""
    private = _private()
    value = base64.b64encode(private.sign(_message(kind, fingerprint))).decode()
    return f"ed25519:{key_id(private.public_key())}:{value}"


@dataclass(frozen=True)
class Verified:
    kind: str
    key_id: str
    current_key: bool


def verify(fingerprint: str, signature: str) -> Verified | None:
    """What a signature vouches for (the kind of document and the key), or None if it does not."""
    fingerprint, signature = fingerprint.strip().lower(), re.sub(r"\s+", "", signature)
    match = _SIGNATURE.match(signature)
    if match is None or not _FINGERPRINT.match(fingerprint):
        return None
    found = public_keys().get(match[1])
    if found is None:
        return None
    try:
        value = base64.b64decode(match[2], validate=True)
    except (binascii.Error, ValueError):
        return None
    public, current = found
    for kind in KINDS:
        try:
            public.verify(value, _message(kind, fingerprint))
        except InvalidSignature:
            continue
        return Verified(kind=kind, key_id=match[1], current_key=current)
    return None


def published_keys() -> list[dict[str, object]]:
    """The public keys, for anyone to verify offline (base64url of the raw 32 bytes)."""
    return [
        {
            "key_id": kid,
            "algorithm": "Ed25519",
            "public_key": base64.urlsafe_b64encode(_raw(public)).decode(),
            "current": current,
        }
        for kid, (public, current) in public_keys().items()
    ]


def verify_url() -> str:
    """Where a reader checks a signature, as printed on the documents."""
    return settings.FACERIGHTS_BASE_URL + reverse("portal:verify")
