"""Identifiers are encrypted at rest and found by keyed hash."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from consent.models import DataSubject, SubjectIdentifier
from consent.services import (
    IdentifierTaken,
    subject_find,
    subject_identifier_add,
    subject_identifiers,
    subject_name,
)
from facerights import crypto
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


def _raw_rows(model):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {model._meta.db_table}")  # noqa: S608
        return [tuple(row) for row in cursor.fetchall()]


def _as_text(rows) -> str:
    parts = []
    for row in rows:
        for value in row:
            if isinstance(value, (bytes, memoryview)):
                parts.append(bytes(value).decode("latin-1"))
            else:
                parts.append(str(value))
    return " ".join(parts)


def test_the_raw_rows_hold_neither_the_phone_nor_the_name(subject):
    dump = _as_text(_raw_rows(SubjectIdentifier) + _raw_rows(DataSubject) + _raw_rows(AuditEvent))
    for secret in ("13800138000", "8613800138000", "wang@example.com", "王小明".encode().decode("latin-1"), "王小明"):
        assert secret not in dump


def test_lookup_by_keyed_hash_finds_the_subject(subject, other_subject):
    assert subject_find(kind="phone", value="138 0013 8000") == subject
    assert subject_find(kind="phone", value="+86 138-0013-8000") == subject
    assert subject_find(kind="email", value=" Wang@Example.com ") == subject
    assert subject_find(kind="phone", value="13900139000") == other_subject
    assert subject_find(kind="phone", value="13700000000") is None
    assert subject_find(kind="phone", value="not a phone") is None


def test_the_subject_can_read_their_own_identifiers(subject):
    assert subject_identifiers(subject) == [("email", "wang@example.com"), ("phone", "+8613800138000")]
    assert subject_name(subject) == "王小明"


def test_the_lookup_hash_is_keyed(subject, settings):
    row = subject.identifiers.get(kind="phone")
    assert row.lookup_hash == crypto.lookup_hash("phone", "+8613800138000")
    settings.IDENTIFIER_HASH_KEY = b"another key of thirty-two bytes!"
    assert row.lookup_hash != crypto.lookup_hash("phone", "+8613800138000")


def test_adding_an_identifier_twice_is_safe_but_never_to_someone_else(subject, other_subject):
    first = subject_identifier_add(actor="t", subject=subject, kind="phone", value="13800138000")
    again = subject_identifier_add(actor="t", subject=subject, kind="phone", value="+8613800138000")
    assert first.pk == again.pk
    with pytest.raises(IdentifierTaken):
        subject_identifier_add(actor="t", subject=other_subject, kind="phone", value="13800138000")


def test_a_malformed_identifier_is_refused_with_a_clear_error(subject):
    with pytest.raises(ValidationError) as info:
        subject_identifier_add(actor="t", subject=subject, kind="phone", value="12345")
    assert "phone number" in " ".join(info.value.messages)


def test_destroying_the_wrapped_key_destroys_every_identifier(subject):
    subject.wrapped_key = None
    subject.save(update_fields=["wrapped_key"])
    with pytest.raises(crypto.DecryptionError):
        subject_identifiers(subject)
    # The keyed hash still finds the tombstone, so a restored backup can replay the deletion.
    assert subject_find(kind="phone", value="13800138000") == subject


def test_an_old_master_key_still_decrypts_during_rotation(subject, settings):
    old = settings.FIELD_ENCRYPTION_KEYS[0]
    settings.FIELD_ENCRYPTION_KEYS = [b"n" * 32, old]
    assert subject_identifiers(subject)[1] == ("phone", "+8613800138000")
    settings.FIELD_ENCRYPTION_KEYS = [b"n" * 32]
    with pytest.raises(crypto.DecryptionError):
        subject_identifiers(subject)


def test_creating_a_subject_is_audited_without_personal_data():
    subject = factories.subject(phone="13600136000")
    events = AuditEvent.objects.filter(chain=subject.audit_chain).order_by("seq")
    assert [e.action for e in events] == ["subject.created", "subject.identifier_added"]
    assert events[1].data == {"kind": "phone"}
