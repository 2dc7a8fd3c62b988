"""audit_batch: the events of one change written together at its end, each in its own chain, in order."""

import pytest
from django.db import IntegrityError, transaction

from facerights.audit import Entry, audit_batch, audit_chain_verify, audit_record, audit_record_many
from facerights.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db


def test_the_events_of_a_batch_are_written_at_its_end_in_order_each_in_its_own_chain():
    with transaction.atomic():
        audit_record(actor="t", action="first", chain="subject:1")
    with transaction.atomic(), audit_batch():
        returned = audit_record(actor="t", action="a", chain="subject:1", data={"n": 1})
        audit_record_many(
            actor="u", entries=[Entry(action="b", chain="subject:2"), Entry(action="c", chain="subject:1")]
        )
        audit_record(actor="t", action="d", chain="subject:1")
        assert not AuditEvent.objects.filter(action__in=["a", "b", "c", "d"]).exists()  # not yet
    one = list(AuditEvent.objects.filter(chain="subject:1").order_by("seq").values_list("seq", "action", "actor"))
    assert one == [(1, "first", "t"), (2, "a", "t"), (3, "c", "u"), (4, "d", "t")]
    assert list(AuditEvent.objects.filter(chain="subject:2").values_list("seq", "action")) == [(1, "b")]
    assert AuditChainHead.objects.get(chain="subject:1").seq == 4
    assert returned.seq == 2 and returned.pk == AuditEvent.objects.get(action="a").pk  # completed when written
    assert audit_chain_verify() == []


def test_an_event_of_a_change_rolled_back_inside_the_batch_is_not_written():
    with transaction.atomic(), audit_batch():
        audit_record(actor="t", action="kept", chain="registry")
        try:
            with transaction.atomic():  # a savepoint
                audit_record(actor="t", action="undone", chain="registry")
                raise IntegrityError("the change failed")
        except IntegrityError:
            pass
        audit_record(actor="t", action="kept.too", chain="registry")
    assert list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)) == ["kept", "kept.too"]
    assert audit_chain_verify() == []


def test_a_batch_that_raises_writes_nothing():
    with pytest.raises(ValueError), transaction.atomic(), audit_batch():
        audit_record(actor="t", action="never", chain="registry")
        raise ValueError
    assert not AuditEvent.objects.filter(action="never").exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError), audit_batch():
        pass
