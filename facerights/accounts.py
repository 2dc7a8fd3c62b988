"""The phone number of an account, encrypted at rest and found by its keyed hash."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from . import crypto


def _aad(user) -> bytes:
    return f"facerights:user-phone:{user.pk}".encode()


def user_phone_hash(phone: str) -> str:
    return crypto.lookup_hash("account-phone", phone)


def user_phone_set(user, phone: str, *, verified: bool) -> None:
    user.phone_hash = user_phone_hash(phone)
    user.phone_ciphertext = crypto.secret_encrypt(phone, aad=_aad(user))
    user.phone_verified = verified
    user.save(update_fields=["phone_hash", "phone_ciphertext", "phone_verified"])


def user_phone_get(user) -> tuple[str, bool] | None:
    if not user.phone_ciphertext:
        return None
    return crypto.secret_decrypt(user.phone_ciphertext, aad=_aad(user)), user.phone_verified


def user_by_phone(phone: str):
    return get_user_model().objects.filter(phone_hash=user_phone_hash(phone)).first()
