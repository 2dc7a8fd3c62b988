"""Device tokens and webhook secrets: issue, look up, rotate with an overlap."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from facerights import crypto
from facerights.audit import audit_record

from .models import ProcessingSystem, SystemCredential

TOKEN_PREFIX = "frd_"  # noqa: S105 (a prefix, not a secret)
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 (Standard Webhooks' prefix, not a secret)


def secret_new() -> str:
    """A new webhook signing secret, as Standard Webhooks writes them: whsec_ and 32 random bytes in base64."""
    return WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_aad(system: ProcessingSystem) -> bytes:
    return f"facerights:system-secret:{system.pk}".encode()


def _live(queryset):
    now = timezone.now()
    return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def credential_issue(
    *, actor: str, system: ProcessingSystem, kind: str, overlap: dt.timedelta | None = None, value: str | None = None
) -> str:
    """Issue a new token or secret and return it once, in clear.

    With `overlap`, the system's existing live credentials of that kind expire
    after it (a rotation without downtime); without, they stay live until revoked.
    `value` lets a deployment (or the simulator's setup) choose the secret.
    """
    with transaction.atomic():
        if kind == SystemCredential.Kind.DEVICE_TOKEN:
            value = value or TOKEN_PREFIX + secrets.token_urlsafe(32)
            credential = SystemCredential(system=system, kind=kind, token_hash=crypto.token_digest(value))
        else:
            value = value or secret_new()
            credential = SystemCredential(
                system=system, kind=kind, secret_ciphertext=crypto.secret_encrypt(value, aad=secret_aad(system))
            )
        credential.hint = value[:10]
        if overlap is not None:
            _live(system.credentials.filter(kind=kind)).update(expires_at=timezone.now() + overlap)
        credential.save()
        audit_record(
            actor=actor,
            action="credential.issued",
            target=system,
            data={"kind": kind, "overlap_s": int(overlap.total_seconds()) if overlap else 0},
        )
    return value


def system_for_token(token: str) -> ProcessingSystem | None:
    """The system a live device token belongs to, or None."""
    if not token:
        return None
    credential = (
        _live(
            SystemCredential.objects.filter(
                kind=SystemCredential.Kind.DEVICE_TOKEN, token_hash=crypto.token_digest(token)
            )
        )
        .select_related("system")
        .first()
    )
    return credential.system if credential else None


def webhook_secrets(system: ProcessingSystem) -> list[str]:
    """Every live signing secret of a system, newest first."""
    rows = _live(system.credentials.filter(kind=SystemCredential.Kind.WEBHOOK_SECRET)).order_by("-created_at")
    return [crypto.secret_decrypt(row.secret_ciphertext, aad=secret_aad(system)) for row in rows]


def credentials_revoke(*, actor: str, system: ProcessingSystem, kind: str | None = None) -> int:
    """End a system's live credentials (of one kind, or all) at once; return how many."""
    with transaction.atomic():
        live = _live(system.credentials.all())
        if kind:
            live = live.filter(kind=kind)
        count = live.update(expires_at=timezone.now())
        if count:
            audit_record(
                actor=actor, action="credential.revoked", target=system, data={"kind": kind or "all", "n": count}
            )
    return count


def credential_needed(system: ProcessingSystem) -> str | None:
    """The kind of credential the system's integration needs and has none live of, or None."""
    needs: dict[str, str] = {
        ProcessingSystem.Integration.PUSH: SystemCredential.Kind.WEBHOOK_SECRET,
        ProcessingSystem.Integration.PULL: SystemCredential.Kind.DEVICE_TOKEN,
    }
    kind = needs.get(system.integration)
    if kind is None or _live(system.credentials.filter(kind=kind)).exists():
        return None
    return kind
