"""The deletion certificate: what each system did, with its evidence fingerprint, as a PDF."""

from __future__ import annotations

import hashlib
import json

from django.template.loader import render_to_string
from django.utils import timezone, translation

from facerights import signing
from facerights.pdf import html_to_pdf

from .models import DeletionRequest


def certificate_data(deletion: DeletionRequest) -> dict:
    """The certificate's content: the same deletion always gives the same data and fingerprint."""
    rows = [
        {
            "system_zh": p.system.name_zh,
            "system_en": p.system.name_en or p.system.name_zh,
            "outcome": p.state,
            "confirmed_at": timezone.localtime(p.confirmed_at).strftime("%Y-%m-%d %H:%M:%S") if p.confirmed_at else "",
            "evidence_sha256": p.evidence_sha256,
            "reason": p.held_reason,
        }
        for p in deletion.propagations.select_related("system").order_by("system__name_zh", "pk")
    ]
    first = deletion.propagations.first() if rows else None
    return {
        "reference": deletion.reference,
        "trigger": deletion.trigger,
        "opened_at": timezone.localtime(deletion.created_at).strftime("%Y-%m-%d %H:%M:%S"),
        "completed_at": timezone.localtime(deletion.completed_at).strftime("%Y-%m-%d %H:%M:%S")
        if deletion.completed_at
        else "",
        "entity": first.system.entity.name_zh if first is not None else "",
        "systems": rows,
    }


def fingerprint(data: dict) -> str:
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def certificate_pdf(deletion: DeletionRequest, *, language: str) -> bytes:
    data = certificate_data(deletion)
    digest = fingerprint(data)
    with translation.override(language):
        html = render_to_string(
            "dataops/deletion_certificate.html",
            {
                "data": data,
                "fingerprint": digest,
                "signature": signing.sign("certificate", digest),  # who issued it, not only that it is unchanged
                "verify_url": signing.verify_url(),
                "chinese": language.startswith("zh"),
            },
        )
    return html_to_pdf(html)
