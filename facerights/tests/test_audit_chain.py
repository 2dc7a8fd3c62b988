import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from facerights.audit import GENESIS_HASH, audit_chain_verify, audit_record
from facerights.models import AuditEvent

pytestmark = pytest.mark.django_db


def _write(chain="registry", count=5):
    with transaction.atomic():
        return [audit_record(actor="test", action=f"thing.{i}", chain=chain, data={"n": i}) for i in range(count)]


def _sql(statement, params=()):
    table = AuditEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(statement.format(table=table), params)


def test_an_untouched_chain_verifies():
    events = _write()
    assert events[0].prev_hash == GENESIS_HASH
    assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert all(later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:]))
    assert audit_chain_verify() == []
    call_command("verify_audit_chain")


def test_editing_a_row_is_detected_and_named():
    events = _write()
    _sql("UPDATE {table} SET action = 'forged' WHERE id = %s", [events[2].pk])
    [found] = audit_chain_verify()
    assert (found.chain, found.seq, found.event_id) == ("registry", 3, events[2].pk)
    assert "edited" in found.reason


def test_editing_data_is_detected():
    events = _write()
    _sql("UPDATE {table} SET actor = 'someone else' WHERE id = %s", [events[0].pk])
    assert audit_chain_verify()[0].seq == 1


def test_deleting_a_row_is_detected():
    events = _write()
    _sql("DELETE FROM {table} WHERE id = %s", [events[1].pk])
    [found] = audit_chain_verify()
    assert found.seq == 3
    assert "deleted or inserted" in found.reason


def test_deleting_the_last_row_is_detected_through_the_head():
    events = _write()
    _sql("DELETE FROM {table} WHERE id = %s", [events[-1].pk])
    [found] = audit_chain_verify()
    assert "head records sequence 5" in found.reason


def test_inserting_a_row_is_detected():
    events = _write()
    # Make room after row 2 and slip a forged row in, with a plausible prev_hash.
    _sql("UPDATE {table} SET seq = seq + 100 WHERE chain = 'registry' AND seq > 2")
    _sql("UPDATE {table} SET seq = seq - 99 WHERE chain = 'registry' AND seq > 100")
    forged = AuditEvent(
        chain="registry", seq=3, at=events[2].at, actor="x", action="forged", prev_hash=events[1].hash, hash="f" * 64
    )
    forged.save()
    assert audit_chain_verify()[0].seq == 3


def test_reordering_rows_is_detected():
    events = _write()
    _sql("UPDATE {table} SET seq = 100 WHERE id = %s", [events[1].pk])
    _sql("UPDATE {table} SET seq = 2 WHERE id = %s", [events[2].pk])
    _sql("UPDATE {table} SET seq = 3 WHERE id = %s", [events[1].pk])
    [found] = audit_chain_verify()
    assert found.seq == 2
    assert "reordered" in found.reason


def test_the_command_names_the_broken_row_and_fails(capsys):
    events = _write(chain="subject:1")
    _write(chain="registry")
    _sql("UPDATE {table} SET data = %s WHERE id = %s", ['{"n": 99}', events[3].pk])
    with pytest.raises(CommandError):
        call_command("verify_audit_chain")
    err = capsys.readouterr().err
    assert "subject:1" in err
    assert f"event id {events[3].pk}" in err
    assert "registry" not in err  # the untouched chain is not reported


def test_chains_are_independent():
    _write(chain="subject:1", count=3)
    _write(chain="subject:2", count=2)
    assert AuditEvent.objects.filter(chain="subject:2").values_list("seq", flat=True).order_by("seq")[::1] == [1, 2]
    assert audit_chain_verify() == []


def test_events_cannot_be_changed_or_deleted_through_the_orm():
    [event] = _write(count=1)
    event.action = "changed"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        audit_record(actor="test", action="x")
    assert not AuditEvent.objects.exists()


def test_events_written_as_rows_continue_each_chain_as_single_events_do():
    from facerights.audit import Row, audit_batch, audit_record_rows  # noqa: PLC0415 (this test's alone)

    first = _write(chain="subject:1", count=2)
    with transaction.atomic():
        written = audit_record_rows(
            actor="mass",
            rows=[
                Row(chain="subject:2", action="deletion.opened", object_type="dataops.deletionrequest", object_id="7"),
                Row(chain="subject:1", action="deletion.opened", data={"systems": [3, 4], "trigger": "x"}),
                Row(chain="subject:1", action="deletion.completed"),
            ],
        )
    with transaction.atomic(), audit_batch():  # inside a batch they wait for its end, in order
        audit_record_rows(actor="mass", rows=[Row(chain="subject:2", action="later")])
        audit_record(actor="test", action="after", chain="subject:2")
    assert written == 3
    one = list(AuditEvent.objects.filter(chain="subject:1").order_by("seq"))
    assert [(e.seq, e.action, e.actor) for e in one] == [
        (1, "thing.0", "test"),
        (2, "thing.1", "test"),
        (3, "deletion.opened", "mass"),
        (4, "deletion.completed", "mass"),
    ]
    assert one[2].prev_hash == first[-1].hash and one[2].data == {"systems": [3, 4], "trigger": "x"}
    two = list(AuditEvent.objects.filter(chain="subject:2").order_by("seq").values_list("action", "object_id"))
    assert two == [("deletion.opened", "7"), ("later", ""), ("after", "")]
    assert audit_chain_verify() == []
