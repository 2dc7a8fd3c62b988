"""Encryption of identifiers at rest, and keyed hashes to find them.

Envelope encryption: each data subject has its own random data key, stored
only wrapped (AES-256-GCM) under the deployment's FIELD_ENCRYPTION_KEY. The
subject's identifiers are encrypted under that data key. Destroying the
wrapped key destroys every identifier of that subject at once (crypto-
shredding), and rotating FIELD_ENCRYPTION_KEY only rewraps the small keys.

Lookup hashes are HMAC-SHA256 under IDENTIFIER_HASH_KEY, so an equality search
needs no decryption and a database dump alone cannot be brute-forced.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

_VERSION = b"\x01"
_WRAP_AAD = b"facerights:subject-key"


class DecryptionError(Exception):
    """A ciphertext that no configured key opens, or that was altered."""


def _key_id(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()[:4]


def _keyring() -> dict[bytes, bytes]:
    return {_key_id(key): key for key in settings.FIELD_ENCRYPTION_KEYS}


def current_key_id() -> str:
    return _key_id(settings.FIELD_ENCRYPTION_KEYS[0]).hex()


def key_ids() -> list[str]:
    """The ids of the configured master keys: the current one first, then FIELD_ENCRYPTION_OLD_KEYS in order."""
    return [_key_id(key).hex() for key in settings.FIELD_ENCRYPTION_KEYS]


def wrapped_key_id(wrapped: bytes) -> str:
    """The id of the master key a wrapped data key or a blob is under (both carry it in bytes 1 to 4)."""
    return bytes(wrapped[1:5]).hex()


def data_key_new() -> tuple[bytes, bytes]:
    """A fresh data key and its wrapped form under the current master key."""
    key = AESGCM.generate_key(bit_length=256)
    return key, data_key_wrap(key)


def data_key_wrap(key: bytes) -> bytes:
    master = settings.FIELD_ENCRYPTION_KEYS[0]
    nonce = os.urandom(12)
    return _VERSION + _key_id(master) + nonce + AESGCM(master).encrypt(nonce, key, _WRAP_AAD)


def data_key_unwrap(wrapped: bytes) -> bytes:
    wrapped = bytes(wrapped)
    if wrapped[:1] != _VERSION:
        raise DecryptionError("unknown wrapped-key format")
    master = _keyring().get(wrapped[1:5])
    if master is None:
        raise DecryptionError(f"no configured key with id {wrapped[1:5].hex()}")
    try:
        return AESGCM(master).decrypt(wrapped[5:17], wrapped[17:], _WRAP_AAD)
    except InvalidTag:
        raise DecryptionError("wrapped key was altered or the key is wrong") from None


def encrypt(key: bytes, plaintext: str, *, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), aad)


def decrypt(key: bytes, token: bytes, *, aad: bytes) -> str:
    token = bytes(token)
    if token[:1] != _VERSION:
        raise DecryptionError("unknown ciphertext format")
    try:
        return AESGCM(key).decrypt(token[1:13], token[13:], aad).decode()
    except InvalidTag:
        raise DecryptionError("ciphertext was altered or the key is wrong") from None


def lookup_hash(kind: str, normalized: str) -> str:
    """A keyed hash of a normalised identifier, for equality lookups."""
    message = f"{kind}:{normalized}".encode()
    return hmac.new(settings.IDENTIFIER_HASH_KEY, message, hashlib.sha256).hexdigest()


def blob_encrypt(data: bytes, *, aad: bytes) -> bytes:
    """Encrypt bytes at rest (a secret, a scan, a copy of someone's data) under the current master key."""
    master = settings.FIELD_ENCRYPTION_KEYS[0]
    nonce = os.urandom(12)
    return _VERSION + _key_id(master) + nonce + AESGCM(master).encrypt(nonce, data, aad)


def blob_decrypt(token: bytes, *, aad: bytes) -> bytes:
    token = bytes(token)
    master = _keyring().get(token[1:5])
    if token[:1] != _VERSION or master is None:
        raise DecryptionError("no configured key opens this data")
    try:
        return AESGCM(master).decrypt(token[5:17], token[17:], aad)
    except InvalidTag:
        raise DecryptionError("data was altered or the key is wrong") from None


def secret_encrypt(plaintext: str, *, aad: bytes) -> bytes:
    return blob_encrypt(plaintext.encode(), aad=aad)


def secret_decrypt(token: bytes, *, aad: bytes) -> str:
    return blob_decrypt(token, aad=aad).decode()


def data_key_rewrap(wrapped: bytes) -> bytes:
    """The same data key, wrapped again under the current master key (key rotation).

    The data key itself does not change, so whatever it encrypts (a subject's
    identifiers and name) stays readable without being touched.
    """
    return data_key_wrap(data_key_unwrap(wrapped))


def blob_reencrypt(token: bytes, *, aad: bytes) -> bytes:
    """The same bytes with the same associated data, encrypted again under the current master key."""
    return blob_encrypt(blob_decrypt(token, aad=aad), aad=aad)


def token_digest(token: str) -> str:
    """SHA-256 of a high-entropy bearer token: enough to store it, useless to steal."""
    return hashlib.sha256(token.encode()).hexdigest()
