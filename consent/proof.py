"""A person's consent proof package: what they were shown and what they answered, for a complaint or a regulator.

PIPL Art 69 presumes the company at fault unless it proves otherwise; this is the proof. The
ZIP holds, for one person (by their pseudonymous id, never a phone or email; the one name it may hold
is the one typed to sign a written consent, inside that signed record, which is the evidence itself):

- `notices/<system>-v<version>.json`: each notice they consented under, exactly as it was
  published (the frozen text, both languages), with its SHA-256 as recorded at publication;
- `consents.json`: every consent with its events in order (given, withdrawn, renewal
  required, replaced), each with its time, channel, network prefix and device;
- `sessions.json`: every consent asked at capture (consent/sessions.py): the notice served,
  the answer, when, and when the device used the token;
- `receipts/<receipt id>.json`: each consent's receipt (consent/receipts.py) as it stands now, in
  Chinese, signed, in the 27560 form;
- `signed/<receipt id>.txt`: each written consent's signed record (consent/written.py), byte for
  byte as signed; its SHA-256 is the one the consent and the receipt carry (R4);
- `manifest.json`: the SHA-256 of each of those files, so anyone can check none was changed.

Building one is audited in the person's chain.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

from django.db import transaction
from django.utils import timezone

from facerights.audit import audit_record

from .models import ConsentRecord, ConsentSession, DataSubject, Notice
from .receipts import consent_receipt, receipt_json
from .written import signed_consent_text


def _iso(moment) -> str:
    return timezone.localtime(moment).isoformat() if moment else ""


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode()


def consent_proof_package(*, actor: str, subject: DataSubject) -> bytes:
    records = list(
        ConsentRecord.objects.filter(subject=subject)
        .select_related("system", "purpose", "notice", "guardian")
        .prefetch_related("events")
        .order_by("given_at", "pk")
    )
    sessions = list(
        ConsentSession.objects.filter(subject=subject).select_related("purpose", "notice").order_by("created_at")
    )
    notices: dict[int, Notice] = {r.notice_id: r.notice for r in records}
    notices.update({s.notice_id: s.notice for s in sessions if s.notice is not None and s.notice_id is not None})
    files: dict[str, bytes] = {}
    for notice in sorted(notices.values(), key=lambda n: (n.system_id, n.version)):
        files[f"notices/{notice.system_id}-v{notice.version}.json"] = _json(
            {
                "system": notice.system_id,
                "version": notice.version,
                "published_at": _iso(notice.published_at),
                "sha256": notice.digest,
                "text": notice.snapshot,
            }
        )
    files["consents.json"] = _json(
        [
            {
                "consent": r.pk,
                "system": r.system_id,
                "system_name": r.system.name_zh,
                "purpose": r.purpose.code,
                "notice": {"version": r.notice.version, "sha256": r.notice.digest},
                "method": r.method,
                "guardian": str(r.guardian.uuid) if r.guardian else "",
                "state": r.state,
                "given_at": _iso(r.given_at),
                "withdrawn_at": _iso(r.withdrawn_at),
                "channel": r.channel,
                "ip_prefix": r.ip_prefix,
                "user_agent": r.user_agent,
                "signed_record_sha256": r.artifact_sha256,
                "events": [
                    {
                        "kind": e.kind,
                        "at": _iso(e.at),
                        "actor": e.actor,
                        "channel": e.channel,
                        "ip_prefix": e.ip_prefix,
                        "user_agent": e.user_agent,
                    }
                    for e in sorted(r.events.all(), key=lambda e: (e.at, e.pk))
                ],
            }
            for r in records
        ]
    )
    files["sessions.json"] = _json(
        [
            {
                "session": str(s.public_id),
                "system": s.system_id,
                "purpose": s.purpose.code,
                "subject_key": s.subject_key,
                "state": s.state,
                "notice": {"version": s.notice.version, "sha256": s.notice.digest} if s.notice else None,
                "opened_at": _iso(s.created_at),
                "answered_at": _iso(s.answered_at),
                "token_used_at": _iso(s.token_used_at),
                "consent": s.record_id,
            }
            for s in sessions
        ]
    )
    for record in records:
        receipt = consent_receipt(record)
        files[f"receipts/{receipt['receipt_id']}.json"] = receipt_json(receipt)
        signed = signed_consent_text(record)
        if signed is not None:
            files[f"signed/{receipt['receipt_id']}.txt"] = signed.encode()
    manifest = {
        "person": str(subject.uuid),
        "built_at": _iso(timezone.now()),
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in sorted(files.items())},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(files.items()):
            archive.writestr(name, content)
        archive.writestr("manifest.json", _json(manifest))
    package = buffer.getvalue()
    with transaction.atomic():  # callers (an admin action) have no transaction of their own
        audit_record(
            actor=actor,
            action="consent.proof_built",
            target=subject,
            data={"consents": len(records), "sessions": len(sessions), "sha256": hashlib.sha256(package).hexdigest()},
        )
    return package
