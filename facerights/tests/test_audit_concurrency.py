"""Concurrent writers: one chain stays gapless, different chains do not wait for each other."""

import threading

import pytest
from django.db import close_old_connections, connection, transaction

from facerights.audit import audit_chain_verify, audit_record
from facerights.models import AuditEvent


def _in_threads(count, work):
    errors = []
    barrier = threading.Barrier(count)

    def run(index):
        try:
            barrier.wait()
            work(index)
        except Exception as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_one_chain_leave_no_gap():
    def write(index):
        for n in range(10):
            with transaction.atomic():
                audit_record(actor=f"thread:{index}", action="concurrent", chain="subject:1", data={"n": n})

    _in_threads(8, write)
    seqs = list(AuditEvent.objects.filter(chain="subject:1").order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 81))
    assert audit_chain_verify() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_writer_holding_one_chain_does_not_block_another_chain():
    holding = threading.Event()
    other_done = threading.Event()
    seen = {}

    def work(index):
        if index == 0:
            with transaction.atomic():
                audit_record(actor="slow", action="held", chain="subject:1")
                holding.set()
                # Still inside the transaction, holding subject:1's head row.
                seen["other_finished_meanwhile"] = other_done.wait(15)
        else:
            holding.wait(15)
            with transaction.atomic():
                audit_record(actor="fast", action="free", chain="subject:2")
            other_done.set()

    _in_threads(2, work)
    assert seen["other_finished_meanwhile"] is True
    assert AuditEvent.objects.filter(chain="subject:2").count() == 1
