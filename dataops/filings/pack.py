"""What leaves the building: the pack for the CAC's online system and the regulator's bundle."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

from facerights import signing
from facerights.audit import audit_anchor
from facerights.compliance import obligations_load

from ..incidents.selectors import incidents_evidence
from .models import Filing, FilingAttachment
from .wording import label

# --- What leaves the building ----------------------------------------------------------------------

PACK_NAMES = {
    "basic_info": "01_个人信息处理者基本情况表",
    "application_form": "02_人脸识别技术应用情况备案表",
    "pia_report": "03_个人信息保护影响评估报告",
}
ATTACHMENT_ORDER: dict[str, str] = {
    FilingAttachment.Kind.CREDIT_CODE_CERTIFICATE: "04_统一社会信用代码证书",
    FilingAttachment.Kind.LEGAL_REP_ID: "05_法定代表人身份证件",
    FilingAttachment.Kind.AGENT_ID: "06_经办人身份证件",
    FilingAttachment.Kind.POWER_OF_ATTORNEY: "07_授权委托书",
    FilingAttachment.Kind.COMMITMENT: "08_承诺书",
    FilingAttachment.Kind.OTHER: "09_其他材料",
}
EXTENSIONS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg"}


# Every entry dated alike (the earliest date a ZIP can hold): the same filing is the same bytes, always.
_ENTRY_TIME = (1980, 1, 1, 0, 0, 0)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_ENTRY_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def filing_pack(filing: Filing) -> bytes:
    """One ZIP with the forms, the report and the attachments, named and ordered as the CAC's system asks.

    A submitted filing's pack is the same bytes at every download: entries carry a fixed date and
    the manifest the audit anchor recorded at submission (a draft's carries the current one).
    """
    buffer = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for document in filing.documents.order_by("kind", "language"):
            prefix = PACK_NAMES[document.kind]
            name = f"{prefix}.pdf" if document.language == "zh" else f"英文译本_English/{prefix}_EN.pdf"
            archive.writestr(_entry(name), bytes(document.pdf))
            manifest.append({"file": name, "sha256": document.sha256})
        for n, attachment in enumerate(filing.attachments.order_by("kind", "pk"), start=1):
            name = f"{ATTACHMENT_ORDER[attachment.kind]}_{n}.{EXTENSIONS.get(attachment.content_type, 'bin')}"
            archive.writestr(_entry(name), bytes(attachment.content))
            manifest.append({"file": name, "sha256": attachment.sha256})
        archive.writestr(
            _entry("manifest.json"),
            json.dumps(
                {
                    "filing": filing.number,
                    "version": filing.version,
                    "snapshot_sha256": filing.snapshot_sha256,
                    "signature": filing.snapshot_signature,
                    "audit_anchor": filing.submitted_anchor or audit_anchor(),
                    "files": manifest,
                },
                ensure_ascii=False,
                indent=2,
            ),
        )
    return buffer.getvalue()


def filing_bundle(filing: Filing) -> dict:
    """What a regulator downloads beside the PDFs: the data, every hash, and the compliance matrix."""

    return {
        "filing": {"number": filing.number, "version": filing.version, "kind": filing.kind, "state": filing.state},
        "snapshot": filing.snapshot,
        "snapshot_sha256": filing.snapshot_sha256,
        "documents": [
            {"kind": d.kind, "language": d.language, "sha256": d.sha256}
            for d in filing.documents.order_by("kind", "language")
        ],
        "attachments": [
            {"kind": a.kind, "sha256": a.sha256, "size": a.size} for a in filing.attachments.order_by("kind", "pk")
        ],
        # The registry's audit chain as it stands now: whoever keeps this can later prove
        # that the log was not rewritten (the regulator's page checks it).
        "audit_anchor": audit_anchor(),
        # Security incidents of the entity, drills included (R27), with the fingerprints of their reports.
        "incidents": incidents_evidence(filing.entity),
        "compliance_matrix": [
            {"ref": o.ref, "title": o.title, "state": o.state, "tests": o.tests, "source": o.fields.get("Source", "")}
            for o in obligations_load()
        ],
    }


def filing_fingerprint_check(filing: Filing, typed: str) -> dict:
    """What a fingerprint printed in, or computed from, a filing matches; each answer is checked, not recalled.

    The documents and the scans by their stored SHA-256; the pack by computing it; the data
    snapshot (and its signature); and any fingerprint the forms print from the registry (a
    notice, a photo of the signs, a processor's certificate, a system's evidence), named by
    where the snapshot states it.
    """
    typed = typed.strip().lower()
    documents = list(filing.documents.filter(sha256=typed).order_by("kind", "language"))
    attachments = list(filing.attachments.filter(sha256=typed).order_by("kind", "pk"))
    snapshot = typed == filing.snapshot_sha256
    return {
        "snapshot": snapshot,
        "signed": snapshot
        and bool(filing.snapshot_signature)
        and signing.verify(typed, filing.snapshot_signature) is not None,
        "documents": documents,
        "attachments": attachments,
        # Building the pack decrypts every scan: only for a fingerprint nothing stored matched.
        "pack": not (snapshot or documents or attachments)
        and len(typed) == 64
        and hashlib.sha256(filing_pack(filing)).hexdigest() == typed,
        "named": sorted(set(_named_in(filing.snapshot or {}, typed))),
    }


def _named_in(value, typed: str, names: tuple[str, ...] = (), key: str = ""):
    """Where in the snapshot a fingerprint is stated, in words ("门禁闸机 · 告知书指纹（SHA-256）").

    The words are the system's name, then the label of the field; a bare "sha256" inside a
    list takes the list's label (a photo of the signs, a notice), never a field path.
    """
    if isinstance(value, dict):
        name = value.get("name_zh") or value.get("system")
        here = (*names, str(name)) if name else names
        for field, item in value.items():
            yield from _named_in(item, typed, here, key if field == "sha256" and key else field)
    elif isinstance(value, list):
        for item in value:
            yield from _named_in(item, typed, names, key)
    elif isinstance(value, str) and len(typed) == 64 and value == typed:
        yield " · ".join([*names, _words(key)])


def _words(key: str) -> str:
    """A fingerprint field's label; one without a label of its own is called what it is, never by its key."""
    try:
        return label(key)
    except KeyError:
        return WORDS.get(key, "SHA-256")


# Fingerprint fields the forms print that are not facts with a label of their own.
WORDS = {
    "sha256": "SHA-256",
    "evidence_sha256": "删除确认证据指纹（SHA-256）",
    "notice_sha256": "告知书指纹（SHA-256）",
    "agent_id_digest": "经办人身份证件号码（校验值）",
    "I": "承诺书及附件",
}
