"""Writing many rows a column at a time (facerights.db.insert_columns)."""

import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from facerights.db import insert_columns
from facerights.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_rows_given_by_column_are_written_in_order_with_the_models_defaults():
    at = timezone.now()
    written = insert_columns(
        AuditEvent,
        3,
        {
            "chain": ["c:1", "c:2", "c:3"],
            "seq": [1, 2, 3],
            "at": at,  # one value for every row
            "actor": "t",
            "action": "thing.done",
            "data": [{"n": 1}, {"n": "二"}, {}],
            "prev_hash": "0" * 64,
            "hash": ["a" * 64, "b" * 64, "c" * 64],
        },
        returning=("pk", "chain", "seq"),
    )
    assert [(chain, seq) for _pk, chain, seq in written] == [("c:1", 1), ("c:2", 2), ("c:3", 3)]
    rows = {e.pk: e for e in AuditEvent.objects.filter(pk__in=[pk for pk, _c, _s in written])}
    assert [rows[pk].data for pk, _c, _s in written] == [{"n": 1}, {"n": "二"}, {}]
    assert {(e.at, e.actor, e.object_type, e.object_id) for e in rows.values()} == {(at, "t", "", "")}


def test_a_field_not_given_takes_its_default_and_a_callable_default_is_called_for_each_row():
    from dataops.models import DeletionRequest  # noqa: PLC0415 (a model with a random default: dataops's)
    from tests import factories  # noqa: PLC0415 (its subjects need the database this test has)

    people = [factories.subject(phone=f"1390000000{n}") for n in range(3)]
    today = timezone.localdate()
    written = insert_columns(
        DeletionRequest,
        3,
        {
            "subject": [p.pk for p in people],
            "trigger": "subject_request",
            "created_at": timezone.now(),
            "due_on": today,
            "due_earliest": today,
        },
        returning=("pk", "reference"),
    )
    references = [reference for _pk, reference in written]
    assert len(set(references)) == 3 and all(len(r) == 10 for r in references)
    rows = DeletionRequest.objects.filter(pk__in=[pk for pk, _r in written])
    assert {(d.state, d.action, d.due_on_provisional, d.completed_at, d.trace_id) for d in rows} == {
        ("open", "delete", False, None, "")
    }


def test_a_column_of_the_wrong_length_is_refused_and_nothing_is_written():
    before = AuditEvent.objects.count()
    with pytest.raises(ValueError, match="3 rows, but 2 values for seq"):
        insert_columns(
            AuditEvent,
            3,
            {"chain": ["a", "b", "c"], "seq": [1, 2], "at": timezone.now(), "actor": "t", "action": "x"},
        )
    assert AuditEvent.objects.count() == before


def test_nothing_to_write_writes_nothing():
    assert insert_columns(AuditEvent, 0, {"chain": []}) == []


def test_a_failing_insert_fails_the_transaction_it_is_in():
    at = timezone.now() - dt.timedelta(days=1)
    columns = {"chain": ["dup", "dup"], "seq": [1, 1], "at": at, "actor": "t", "action": "x", "hash": "h"}
    with pytest.raises(Exception, match="audit_event_chain_seq_unique"), transaction.atomic():
        insert_columns(AuditEvent, 2, columns)
    assert not AuditEvent.objects.filter(chain="dup").exists()


def test_a_value_too_long_for_its_column_is_refused_not_cut():
    from django.db import DataError  # noqa: PLC0415 (this test's alone)

    columns = {"chain": ["x" * 65], "seq": [1], "at": timezone.now(), "actor": "t", "action": "x", "hash": "h"}
    with pytest.raises(DataError), transaction.atomic():
        insert_columns(AuditEvent, 1, columns)
    assert not AuditEvent.objects.filter(actor="t", action="x").exists()


def test_a_name_that_is_not_a_field_is_refused():
    with pytest.raises(ValueError, match="not fields of facerights.AuditEvent: chain_id"):
        insert_columns(AuditEvent, 1, {"chain_id": ["a"], "seq": [1]})


def test_a_column_of_nothing_but_nulls_still_writes_every_row():
    from dataops.models import DeletionRequest  # noqa: PLC0415 (a model with a nullable foreign key: dataops's)
    from tests import factories  # noqa: PLC0415 (its subjects need the database this test has)

    person = factories.subject(phone="13900000009")
    today = timezone.localdate()
    written = insert_columns(
        DeletionRequest,
        2,
        {
            "subject": person.pk,
            "request": [None, None],
            "trigger": "subject_request",
            "created_at": timezone.now(),
            "due_on": today,
            "due_earliest": today,
        },
    )
    assert len(written) == 2
    assert list(DeletionRequest.objects.filter(subject=person).values_list("request", flat=True)) == [None, None]


def test_a_field_save_would_set_must_be_given():
    from consent.models import DataSubject  # noqa: PLC0415 (a model with auto_now_add: consent's)

    with pytest.raises(ValueError, match="DataSubject.created_at is set on save"):
        insert_columns(DataSubject, 1, {"is_synthetic": False})
    [(pk,)] = insert_columns(DataSubject, 1, {"created_at": timezone.now() - dt.timedelta(days=3)})
    assert DataSubject.objects.get(pk=pk).created_at < timezone.now() - dt.timedelta(days=2)
