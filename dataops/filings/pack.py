"""What leaves the building: the pack for the CAC's online system and the regulator's bundle."""

from __future__ import annotations

import io
import json
import zipfile

from facerights.audit import audit_anchor
from facerights.compliance import obligations_load

from .models import Filing, FilingAttachment

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


def filing_pack(filing: Filing) -> bytes:
    """One ZIP with the forms, the report and the attachments, named and ordered as the CAC's system asks."""
    buffer = io.BytesIO()
    manifest = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for document in filing.documents.order_by("kind", "language"):
            prefix = PACK_NAMES[document.kind]
            name = f"{prefix}.pdf" if document.language == "zh" else f"英文译本_English/{prefix}_EN.pdf"
            archive.writestr(name, bytes(document.pdf))
            manifest.append({"file": name, "sha256": document.sha256})
        for n, attachment in enumerate(filing.attachments.order_by("kind", "pk"), start=1):
            name = f"{ATTACHMENT_ORDER[attachment.kind]}_{n}.{EXTENSIONS.get(attachment.content_type, 'bin')}"
            archive.writestr(name, bytes(attachment.content))
            manifest.append({"file": name, "sha256": attachment.sha256})
        archive.writestr(
            "manifest.json",
            json.dumps(
                {
                    "filing": filing.number,
                    "version": filing.version,
                    "snapshot_sha256": filing.snapshot_sha256,
                    "audit_anchor": audit_anchor(),
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
        "compliance_matrix": [
            {"ref": o.ref, "title": o.title, "state": o.state, "tests": o.tests, "source": o.fields.get("Source", "")}
            for o in obligations_load()
        ],
    }
