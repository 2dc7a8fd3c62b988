"""The consent proof package: every consent and withdrawal in order, the notices as published, fingerprints that hold."""

import hashlib
import io
import json
import zipfile

import pytest
from django.urls import reverse

from consent.models import ConsentRecord
from consent.services import Provenance, consent_grant, consent_withdraw, notice_current, notice_fingerprint
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_persons_package_holds_consent_withdrawal_and_reconsent_in_order_and_its_fingerprints_verify(
    dpo_client, subject, system
):
    first = factories.consent(subject, system)
    consent_withdraw(actor="t", record=first, provenance=Provenance(channel="portal", ip_prefix="203.0.113.0/24"))
    again = consent_grant(
        actor="t",
        subject=subject,
        system=system,
        purpose=first.purpose,
        notice=notice_current(system),
        provenance=Provenance(channel="device", ip_prefix="198.51.100.0/24", user_agent="kiosk"),
    )
    response = dpo_client.post(
        reverse("admin:consent_datasubject_changelist"), {"action": "consent_proof", "_selected_action": [subject.pk]}
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as package:
        manifest = json.loads(package.read("manifest.json"))
        for name, digest in manifest["files"].items():
            assert hashlib.sha256(package.read(name)).hexdigest() == digest, name  # nothing changed since
        consents = json.loads(package.read("consents.json"))
        notice = json.loads(package.read(f"notices/{system.pk}-v1.json"))
        receipts = [json.loads(package.read(n)) for n in package.namelist() if n.startswith("receipts/")]
    assert manifest["person"] == str(subject.uuid)
    # Each consent's receipt as the person got it, its state now: the first withdrawn, the second given.
    assert sorted((r["record_id"], r["state"]) for r in receipts) == sorted(
        [(f"consent:{first.pk}", "withdrawn"), (f"consent:{again.pk}", "active")]
    )
    assert [c["consent"] for c in consents] == [first.pk, again.pk]
    assert [e["kind"] for e in consents[0]["events"]] == ["given", "withdrawn"]
    assert [e["kind"] for e in consents[1]["events"]] == ["given"] and consents[1]["ip_prefix"] == "198.51.100.0/24"
    # The notice exactly as published: its text hashes to the fingerprint recorded at publication.
    assert notice_fingerprint(notice["text"]) == notice["sha256"] == first.notice.digest
    assert "13800138000" not in response.content.decode("latin-1") and "wang@example.com" not in str(consents)
    assert AuditEvent.objects.filter(action="consent.proof_built", chain=f"subject:{subject.pk}").count() == 1
    assert ConsentRecord.objects.filter(subject=subject).count() == 2


def test_a_package_is_about_one_person(dpo_client, subject, other_subject):
    response = dpo_client.post(
        reverse("admin:consent_datasubject_changelist"),
        {"action": "consent_proof", "_selected_action": [subject.pk, other_subject.pk]},
        follow=True,
    )
    assert response["Content-Type"].startswith("text/html")
    assert not AuditEvent.objects.filter(action="consent.proof_built").exists()
