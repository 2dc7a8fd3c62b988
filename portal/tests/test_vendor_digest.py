"""Many deletions at once for a vendor without an API: one email, one page, one confirmation."""

import csv
import io

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from dataops.deletions.delivery.manual import DIGEST_FROM
from dataops.deletions.tasks import propagations_dispatch
from dataops.filings.changes import recognition_deletions_open, recognition_end
from dataops.models import Propagation
from tests import factories

pytestmark = pytest.mark.django_db

PEOPLE = DIGEST_FROM + 5


@pytest.fixture
def ended(entity, purpose):
    """A processor without an API holding PEOPLE people, and the company's face recognition ended."""
    vendor = factories.active_system(
        entity=entity,
        purpose=purpose,
        kind="processor",
        integration="manual",
        webhook_url="",
        contact_email="vendor@example.com",
        contract_reference="HT-1",
    )
    for n in range(PEOPLE):
        factories.holding(factories.subject(phone=f"1380000{n:04d}"), vendor, key=f"V-{n:03d}")
    recognition_end(actor="dpo", entity=entity)
    recognition_deletions_open(actor="dpo", entity_id=entity.pk)
    mail.outbox.clear()
    propagations_dispatch(vendor.pk)
    return vendor


def _instructions(system):
    return Propagation.objects.filter(system=system, deletion_request__trigger="recognition_ended")


def _path(message) -> str:
    line = next(line for line in message.body.splitlines() if "/vendor/digests/" in line)
    return line.strip().split("localhost:8000", 1)[1]


def test_a_mass_deletion_reaches_the_vendor_as_one_digest_not_one_email_per_person(ended):
    # Used to pass: 25 people, 25 emails (100,000 at the demo's scale).
    [message] = mail.outbox
    assert message.to == ["vendor@example.com"] and str(PEOPLE) in message.subject
    assert "13800000001" not in message.body and "删除证明" in message.body  # no personal data; the certificate asked
    assert set(_instructions(ended).values_list("state", flat=True)) == {"sent"}
    propagations_dispatch(ended.pk)  # nothing new is due before the reminder interval
    assert len(mail.outbox) == 1


def test_the_vendor_confirms_them_all_at_once_with_its_certificate(client, ended):
    path = _path(mail.outbox[0])
    page = client.get(path)
    assert page.status_code == 200 and "V-000" in page.content.decode()
    keys = list(csv.reader(io.StringIO(client.get(path + "keys.csv").content.decode("utf-8-sig"))))
    assert len(keys) == PEOPLE + 1 and keys[0] == ["reference", "key", "deadline"]

    form = {
        "outcome": "deleted",
        "not_found_keys": "V-003\n",
        "performed_by": "张工 运维",
        "performed_at": "2026-11-20T10:00",
        "confirm_all": "on",
    }
    refused = client.post(path, form)  # a processor proves the deletion: no certificate, nothing recorded
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert set(_instructions(ended).values_list("state", flat=True)) == {"sent"}

    pdf = SimpleUploadedFile("cert.pdf", b"%PDF-1.4 certificate", content_type="application/pdf")
    assert client.post(path, {**form, "certificate": pdf}).status_code == 200
    rows = _instructions(ended)
    assert rows.filter(state="deleted").count() == PEOPLE - 1 and rows.get(subject_key="V-003").state == "not_found"
    assert all(len(p.evidence["certificate_sha256"]) == 64 and p.evidence["channel"] == "manual-digest" for p in rows)
    assert client.get(path).status_code == 410  # single use
    # The digest is closed: a deletion that comes due afterwards reaches the vendor at once, on its own.
    factories.holding(factories.subject(phone="13800009999"), ended, key="V-LATE")
    recognition_deletions_open(actor="dpo", entity_id=ended.entity_id)
    mail.outbox.clear()
    propagations_dispatch(ended.pk)
    [late] = mail.outbox
    assert "V-LATE" in late.body and "/vendor/deletions/" in late.body
