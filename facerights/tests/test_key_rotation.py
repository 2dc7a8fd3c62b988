"""Master-key rotation (rotate_keys) and credential rotation with an overlap.

The main test follows docs/keys.md: data under key A; then B is the current
key and A an old one; rotate_keys runs, is stopped midway, crashes once and
resumes; then A is removed and every value must still open under B alone.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import uuid

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from consent import linking
from consent.models import DataSubject, IdentityCheck, SubjectIdentifier
from consent.services import subject_identifiers, subject_name, subject_shred
from dataops.copies import services as copies
from dataops.models import DataExport, EvidenceExport, Request, SystemCredential
from dataops.registry.credentials import credential_issue, webhook_secrets
from dataops.registry.services import legal_rep_id_record
from dataops.requests.services import request_details, request_submit
from dataops.workbench.records import record_export_build, record_export_content, record_export_request
from facerights import crypto, keys
from facerights.accounts import user_phone_get, user_phone_set
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db

KEY_A, KEY_B, KEY_C = (os.urandom(32) for _ in range(3))
BULK_SUBJECTS = 3000
BATCH = 400

# Binary columns that are not under the master key, and why. Any other binary
# column must be registered with facerights.keys, or rotation would miss it.
NOT_UNDER_MASTER_KEY = {
    "consent.DataSubject.name_ciphertext": "under the subject's data key, rotated by rewrapping wrapped_key",
    "consent.SubjectIdentifier.ciphertext": "under the subject's data key, rotated by rewrapping wrapped_key",
    "consent.ReceiptContact.phone_ciphertext": "under the subject's data key, rotated by rewrapping wrapped_key",
    "consent.SignedConsent.text_ciphertext": "under the subject's data key, rotated by rewrapping wrapped_key",
    "dataops.FilingDocument.pdf": "a filing the regulator receives as it is; not encrypted",
    "dataops.IncidentReport.pdf": "a report the authority receives as it is; it counts people, never names them",
}


def _key_id(key: bytes) -> str:
    return crypto._key_id(key).hex()


def _bulk_subjects(count: int) -> dict[int, str]:
    """Subjects with their own data key and a phone number, bulk-inserted as the benchmarks do.

    Returns {subject pk: phone}.
    """
    subjects, identifiers, phones = [], [], []
    for n in range(count):
        key, wrapped = crypto.data_key_new()
        subject = DataSubject(uuid=uuid.uuid4(), wrapped_key=wrapped)
        phone = f"+86135{n:08d}"
        subjects.append(subject)
        phones.append(phone)
        identifiers.append(
            SubjectIdentifier(
                subject=subject,
                kind="phone",
                ciphertext=crypto.encrypt(key, phone, aad=f"{subject.uuid}:phone".encode()),
                lookup_hash=crypto.lookup_hash("phone", phone),
            )
        )
    DataSubject.objects.bulk_create(subjects, batch_size=1000)
    for identifier in identifiers:
        identifier.subject_id = identifier.subject.pk
    SubjectIdentifier.objects.bulk_create(identifiers, batch_size=1000)
    return {subject.pk: phone for subject, phone in zip(subjects, phones)}


def _rotate(*args) -> str:
    out = io.StringIO()
    call_command("rotate_keys", *args, stdout=out, stderr=out)
    return out.getvalue()


def _under(key: bytes) -> dict[str, int]:
    return {found.label: found.by_key.get(_key_id(key), 0) for found in keys.keys_status()}


def _other_columns(model, field: str) -> list[dict]:
    names = [f.attname for f in model._meta.concrete_fields if f.attname != field]
    return list(model._base_manager.order_by("pk").values(*names))


@pytest.fixture
def world(settings, entity):
    """Everything that is encrypted under the master key, written while A is the only key."""
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    User = get_user_model()
    bulk = _bulk_subjects(BULK_SUBJECTS)
    person = factories.subject(phone="13800138000", email="wang@example.com", name="王小明")
    shredded = factories.subject(phone="13900139000")
    subject_shred(actor="test", subject=shredded)
    users = User.objects.bulk_create([User(username=f"phone{n}") for n in range(30)])
    for n, user in enumerate(users):
        user_phone_set(actor="test", user=user, phone=f"+86137{n:08d}", verified=True)
    owner = users[0]
    check = linking.identity_check_submit(
        actor="test", user=owner, scan=b"\x89PNG scan", content_type="image/png", note="护照"
    )
    # The entity was made before A was the only key: its legal representative's number again, under A.
    legal_rep_id_record(actor="test", entity=entity, id_type="passport", number="E11111111")
    system = factories.draft_system(entity=entity)
    secret = credential_issue(actor="test", system=system, kind=SystemCredential.Kind.WEBHOOK_SECRET)
    request = request_submit(actor="test", subject=person, type=Request.Type.COPY, details="请给我一份副本")
    export = DataExport.objects.create(
        subject=person,
        requested_by=owner,
        request=request,
        state=DataExport.State.READY,
        expires_at=timezone.now() + dt.timedelta(days=1),
    )
    DataExport.objects.filter(pk=export.pk).update(
        ciphertext=crypto.blob_encrypt(b"PK zip", aad=copies.export_aad(export))
    )
    evidence = record_export_request(
        actor="test", user=owner, kind="audit", date_from=factories.today(), date_to=factories.today()
    )
    evidence = record_export_build(export_id=evidence.pk)
    return {
        "bulk": bulk,
        "person": person,
        "shredded": shredded,
        "users": users,
        "check": check,
        "system": system,
        "secret": secret,
        "request": request,
        "export": DataExport.objects.get(pk=export.pk),
        "evidence": evidence,
        "evidence_csv": record_export_content(evidence),
    }


def test_every_binary_column_is_registered_or_known_not_to_be_under_the_master_key():
    registered = {entry.label for entry in keys.registered()}
    binary = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in ("facerights", "consent", "dataops", "portal")
        for field in model._meta.concrete_fields
        if field.get_internal_type() == "BinaryField"
    }
    assert binary - registered - set(NOT_UNDER_MASTER_KEY) == set(), "register it in its AppConfig.ready()"
    assert registered <= binary
    assert not registered & set(NOT_UNDER_MASTER_KEY)


def test_rotation_interrupted_and_resumed_leaves_every_value_readable_under_the_new_key_only(
    settings, world, monkeypatch
):
    subjects_before = _other_columns(DataSubject, "wrapped_key")
    users_before = _other_columns(get_user_model(), "phone_ciphertext")
    subject_count = DataSubject.objects.filter(wrapped_key__isnull=False).count()  # not the shredded one
    assert subject_count > 3 * BATCH + BATCH

    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]
    status = _rotate("--status")
    assert f"{subject_count} under old key {_key_id(KEY_A)} (FIELD_ENCRYPTION_OLD_KEYS #1)" in status
    assert "can be emptied" not in status

    # An off-peak window: three batches, then stop.
    output = _rotate("--batch-size", str(BATCH), "--max-batches", "3")
    assert "Stopped after 3 batches (--max-batches). Run again to continue." in output
    assert _under(KEY_B)["consent.DataSubject.wrapped_key"] == 3 * BATCH
    assert _under(KEY_A)["consent.DataSubject.wrapped_key"] == subject_count - 3 * BATCH

    # A crash in the middle of a batch: that batch rolls back, the earlier ones stay, and the command says where.
    rewrap, calls = crypto.data_key_rewrap, []

    def failing(wrapped):
        calls.append(1)
        if len(calls) == BATCH + 7:
            raise OSError("disk on fire")
        return rewrap(wrapped)

    monkeypatch.setattr(crypto, "data_key_rewrap", failing)
    out = io.StringIO()
    with pytest.raises(CommandError, match="Stopped by OSError.*Run rotate_keys again to resume"):
        call_command("rotate_keys", "--batch-size", str(BATCH), stdout=out, stderr=out)
    assert "rotate_keys stopped in consent.DataSubject.wrapped_key after primary key" in out.getvalue()
    assert _under(KEY_B)["consent.DataSubject.wrapped_key"] == 4 * BATCH
    monkeypatch.setattr(crypto, "data_key_rewrap", rewrap)

    output = _rotate("--batch-size", str(BATCH))
    assert f"consent.DataSubject.wrapped_key: {subject_count - 4 * BATCH} re-encrypted" in output
    assert "Done." in output
    assert not any(_under(KEY_A).values())
    assert AuditEvent.objects.filter(action="keys.rotated").count() == 2  # the window and the last run

    # The old key is retired: everything opens under B alone.
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B]
    status = _rotate("--status")
    assert "can be emptied" in status and _key_id(KEY_A) not in status
    for entry in keys.registered():
        for row in entry.rows():
            assert crypto.wrapped_key_id(getattr(row, entry.field)) == _key_id(KEY_B), entry.label
            entry.open(row)

    phones = world["bulk"]
    data_keys = {
        pk: crypto.data_key_unwrap(wrapped)
        for pk, wrapped in DataSubject.objects.filter(pk__in=phones).values_list("pk", "wrapped_key")
    }
    identifiers = SubjectIdentifier.objects.filter(subject_id__in=phones).select_related("subject")
    opened = {
        row.subject_id: crypto.decrypt(
            data_keys[row.subject_id], row.ciphertext, aad=f"{row.subject.uuid}:phone".encode()
        )
        for row in identifiers
    }
    assert opened == phones

    person = DataSubject.objects.get(pk=world["person"].pk)
    assert subject_identifiers(person) == [("email", "wang@example.com"), ("phone", "+8613800138000")]
    assert subject_name(person) == "王小明"
    assert DataSubject.objects.get(pk=world["shredded"].pk).wrapped_key is None
    user = get_user_model().objects.get(pk=world["users"][3].pk)
    assert user_phone_get(user) == ("+8613700000003", True)
    assert webhook_secrets(world["system"]) == [world["secret"]]
    assert request_details(Request.objects.get(pk=world["request"].pk)) == "请给我一份副本"
    assert copies.export_download(export=DataExport.objects.get(pk=world["export"].pk), user=world["users"][0]) == (
        b"PK zip"
    )
    assert record_export_content(EvidenceExport.objects.get(pk=world["evidence"].pk)) == (world["evidence_csv"])
    check = IdentityCheck.objects.get(pk=world["check"].pk)
    assert linking.identity_check_scan(check) == b"\x89PNG scan"
    assert linking.identity_check_note(check) == "护照"

    # Only the encrypted column was written.
    assert _other_columns(DataSubject, "wrapped_key") == subjects_before
    assert _other_columns(get_user_model(), "phone_ciphertext") == users_before


def test_a_value_no_key_opens_is_named_and_the_rest_is_still_rotated(settings, db):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_C]
    lost = factories.subject(phone="13600136000")
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    kept = factories.subject(phone="13500135000")
    settings.FIELD_ENCRYPTION_KEYS = [KEY_B, KEY_A]

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 value"):
        call_command("rotate_keys", stdout=out, stderr=out)
    assert f"CANNOT OPEN consent.DataSubject.wrapped_key pk={lost.pk}: no configured key" in out.getvalue()
    assert crypto.wrapped_key_id(DataSubject.objects.get(pk=kept.pk).wrapped_key) == _key_id(KEY_B)
    assert crypto.wrapped_key_id(DataSubject.objects.get(pk=lost.pk).wrapped_key) == _key_id(KEY_C)

    status = _rotate("--status")
    assert f"1 under unknown key {_key_id(KEY_C)} (not configured: no key opens these)" in status
    assert "can be emptied" not in status


def test_nothing_to_rotate_changes_and_records_nothing(settings, db):
    settings.FIELD_ENCRYPTION_KEYS = [KEY_A]
    factories.subject(phone="13600136000")
    before = AuditEvent.objects.count()
    assert "Done." in _rotate()
    assert AuditEvent.objects.count() == before
    assert "can be emptied" in _rotate("--status")


# --- Device tokens and webhook secrets ------------------------------------------------------------
# Webhook secrets during an overlap are covered in dataops/tests/test_api.py (both verify, the old
# one stops after; the portal signs with both). Device tokens were not.


def test_both_device_tokens_read_the_feed_during_the_overlap_and_only_the_new_one_after(
    client, entity, purpose, monkeypatch
):
    system, old_token = factories.pull_system(entity=entity, purpose=purpose)
    new_token = credential_issue(
        actor="test", system=system, kind=SystemCredential.Kind.DEVICE_TOKEN, overlap=dt.timedelta(hours=2)
    )
    url = f"/api/v1/systems/{system.pk}/deletions"

    def status(token):
        return client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code

    assert (status(old_token), status(new_token)) == (200, 200)

    later = timezone.now() + dt.timedelta(hours=2, minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert (status(old_token), status(new_token)) == (401, 200)
