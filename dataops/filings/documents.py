"""The filing documents: three forms in Chinese and English, rendered as PDF from a frozen snapshot."""

from __future__ import annotations

import hashlib

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import translation

from facerights.pdf import html_to_pdf
from facerights.signing import verify_url

from .models import Filing, FilingDocument
from .wording import LABELS, change_rows, label, rules_text

DOCUMENTS = [(kind, lang) for kind in FilingDocument.Kind.values for lang in ("zh", "en")]


def filing_build_document(*, filing_id: int, kind: str, language: str) -> FilingDocument | None:
    """Render one document from the frozen snapshot (the same snapshot gives the same bytes).

    Only a draft's documents are (re)built, and only from the snapshot they will be
    stored with: a filing reviewed, submitted or regenerated meanwhile is left alone
    (None is returned). Safe to run twice.
    """
    filing = Filing.objects.get(pk=filing_id)
    if filing.state != Filing.State.DRAFT or not filing.snapshot_sha256:
        return None
    snapshot = filing.snapshot or {}
    with translation.override("zh-hans" if language == "zh" else "en"):  # labels of codes, in the document's language
        html = render_to_string(
            f"dataops/filings/{kind}.html",
            {
                "s": snapshot,
                "fingerprint": filing.snapshot_sha256,
                "signature": filing.snapshot_signature,
                "verify_url": verify_url(),
                "zh": language == "zh",
                "L": LABELS,
                "lang": language,
                # The facts nobody recorded yet, in words: the form says so at the top.
                "unknown": [
                    {"label": label(item["fact"], language), "where": item["where"]}
                    for item in snapshot.get("unknown", [])
                ],
                "changes": change_rows((snapshot.get("J") or {}).get("diff", []), language),
                "rules": rules_text(snapshot, language),
            },
        )
    pdf = html_to_pdf(html)  # seconds: rendered before taking the lock
    with transaction.atomic():
        locked = Filing.objects.select_for_update().get(pk=filing_id)
        if locked.state != Filing.State.DRAFT or locked.snapshot_sha256 != filing.snapshot_sha256:
            return None
        document, _created = FilingDocument.objects.update_or_create(
            filing=locked,
            kind=kind,
            language=language,
            defaults={"pdf": pdf, "sha256": hashlib.sha256(pdf).hexdigest()},
        )
        built = locked.documents.count()
        Filing.objects.filter(pk=locked.pk).update(progress=round(100 * built / len(DOCUMENTS)))
    return document


def filing_build(*, filing_id: int) -> Filing:
    """Render every document in this process (the task sends one per document, to run side by side)."""
    for kind, language in DOCUMENTS:
        filing_build_document(filing_id=filing_id, kind=kind, language=language)
    return Filing.objects.get(pk=filing_id)
