"""Accounts: creating one with its role, its phone number (encrypted at rest, found by its keyed hash),
and who may open the admin. Each change writes its audit event in its transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext

from . import crypto
from .audit import audit_record
from .roles import ROLE_LABELS

if TYPE_CHECKING:
    from allauth.mfa.models import Authenticator

    from .models import User


def _aad(user: User) -> bytes:
    return f"facerights:user-phone:{user.pk}".encode()


def user_phone_hash(phone: str) -> str:
    return crypto.lookup_hash("account-phone", phone)


def user_phone_set(*, actor: str, user: User, phone: str, verified: bool) -> None:
    """Set an account's phone; a verified one lets the account link to the person's records (consent.linking)."""
    with transaction.atomic():
        user.phone_hash = user_phone_hash(phone)
        user.phone_ciphertext = crypto.secret_encrypt(phone, aad=_aad(user))
        user.phone_verified = verified
        user.save(update_fields=["phone_hash", "phone_ciphertext", "phone_verified"])
        audit_record(actor=actor, action="account.phone_set", target=user, data={"verified": verified})


def user_phone_get(user: User) -> tuple[str, bool] | None:
    if not user.phone_ciphertext:
        return None
    return crypto.secret_decrypt(user.phone_ciphertext, aad=_aad(user)), user.phone_verified


def user_by_phone(phone: str) -> User | None:
    return get_user_model().objects.filter(phone_hash=user_phone_hash(phone)).first()


def user_create(
    *,
    actor: str,
    username: str,
    email: str,
    password: str | None,
    role: str,
    is_staff: bool = False,
    email_verified: bool = False,
) -> User:
    """Create an account in one role (facerights.roles), with its email address as allauth keeps it."""
    with transaction.atomic():
        user = get_user_model().objects.create_user(username=username, email=email, password=password)
        user.groups.add(Group.objects.get(name=role))
        if is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        EmailAddress.objects.create(user=user, email=email, verified=email_verified, primary=True)
        audit_record(actor=actor, action="account.created", target=user, data={"role": role, "is_staff": is_staff})
    return user


ACCESS_FIELDS = ("is_active", "is_staff", "is_superuser")


def user_save(*, actor: str, user: User, groups: Iterable[Group] | None = None) -> User:
    """Create or change an account as the admin's form prepared it (its password already hashed).

    Who may sign in and open the admin, and in which roles, is what an attacker would
    most want to change: the event records those before and after.
    """
    with transaction.atomic():
        created = user._state.adding or user.pk is None
        if created:
            before = None
        else:
            stored = get_user_model().objects.select_for_update().get(pk=user.pk)
            before = _access(stored, sorted(stored.groups.values_list("name", flat=True)))
        user.save()
        if groups is not None:
            user.groups.set(groups)
        after = _access(user, sorted(user.groups.values_list("name", flat=True)))
        if created:
            audit_record(actor=actor, action="account.created", target=user, data={"access": after})
        else:
            data = {"before": before, "after": after} if before != after else {}
            audit_record(actor=actor, action="account.changed", target=user, data=data)
    return user


def user_close(*, actor: str, user: User) -> None:
    """Close an account (PIPL Art 47): it can no longer sign in, and its own identifiers are gone.

    Its email addresses, phone, password and second factors are removed and its username
    replaced; the row stays, inactive, because audit events and requests name it.
    """
    from allauth.mfa.models import Authenticator  # noqa: PLC0415 (only imported for type checking at the top)

    with transaction.atomic():
        EmailAddress.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        user.username = f"closed-{user.pk}"
        user.email, user.first_name, user.last_name = "", "", ""
        user.phone_hash, user.phone_ciphertext, user.phone_verified = None, None, False
        user.is_active = False
        user.set_unusable_password()
        user.save()
        audit_record(actor=actor, action="account.closed", target=user, data={})


def user_password_changed(*, actor: str, user: User) -> None:
    """Record that someone else (an administrator) set an account's password; the hash is never logged."""
    with transaction.atomic():
        audit_record(
            actor=actor, action="account.password_set", target=user, data={"usable": user.has_usable_password()}
        )


def _access(user: User, groups: list[str]) -> dict[str, Any]:
    return {**{field: getattr(user, field) for field in ACCESS_FIELDS}, "groups": groups}


def authenticator_remove(*, actor: str, authenticator: Authenticator) -> None:
    """Remove a second factor (a staff member lost their phone); they must set up a new one to open the admin."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="account.authenticator_removed",
            target=authenticator.user,
            data={"type": authenticator.type},
        )
        authenticator.delete()


def display_name(user: User) -> str:
    """A person's name as it is written: 林晓雯 for a Chinese name, Ada Lovelace otherwise; the login if none."""
    first, last = user.first_name.strip(), user.last_name.strip()
    if not (first or last):
        return str(user.get_username())
    if any("\u4e00" <= char <= "\u9fff" for char in first + last):
        return f"{last}{first}"
    return f"{first} {last}".strip()


def user_name(identifier: str, language: str) -> str:
    """An account as people read it in records: its name (or login) and its roles, e.g. 林晓雯（个人信息保护负责人）."""
    user = get_user_model().objects.filter(pk=identifier).first() if identifier.isdigit() else None
    with translation.override("zh-hans" if language == "zh" else "en"):
        if user is None:
            return gettext("a deleted account")
        name = display_name(user)
        roles = [str(ROLE_LABELS[g]) for g in user.groups.values_list("name", flat=True) if g in ROLE_LABELS]
        if user.is_superuser:
            roles.append(gettext("administrator"))
    if not roles:
        return name
    return f"{name}（{'、'.join(roles)}）" if language == "zh" else f"{name} ({', '.join(roles)})"
