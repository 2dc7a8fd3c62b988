"""Opening many people's deletions at once (face recognition ended, a contract's end, retention)."""

import pytest

from dataops.deletions import opening
from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.opening import deletion_requests_open
from dataops.registry.models import Holding, ProcessingSystem
from facerights import queues
from facerights.audit import audit_chain_verify
from facerights.journal import journal_read
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def people_in_two_systems(entity, purpose):
    push = factories.active_system(entity=entity, purpose=purpose)
    device, _token = factories.pull_system(entity=entity, purpose=purpose)
    people = [factories.subject(phone=f"1370000{n:04d}") for n in range(30)]
    for person in people:
        factories.holding(person, push)
        factories.holding(person, device)
    return push, device, people


def test_everyone_gets_a_deletion_to_each_system_in_chunks_each_with_its_evidence(
    people_in_two_systems, monkeypatch, django_capture_on_commit_callbacks, settings
):
    push, device, people = people_in_two_systems
    monkeypatch.setattr(opening, "OPEN_CHUNK", 12)  # thousands, scaled down: three chunks
    sent = []
    monkeypatch.setattr(queues, "enqueue", lambda name, *args: sent.append((name, args)))
    feed_before = ProcessingSystem.objects.get(pk=device.pk).feed_seq

    with django_capture_on_commit_callbacks(execute=True):
        ids = deletion_requests_open(actor="t", subject_ids=[p.pk for p in people], trigger="recognition_ended")

    deletions = DeletionRequest.objects.filter(pk__in=ids)
    assert sorted(d.subject_id for d in deletions) == sorted(p.pk for p in people)
    assert {(d.state, d.trigger, d.action) for d in deletions} == {("open", "recognition_ended", "delete")}
    assert len({d.reference for d in deletions}) == 30
    propagations = Propagation.objects.filter(deletion_request__in=ids)
    assert sorted((p.deletion_request.subject_id, p.system_id) for p in propagations) == sorted(
        (person.pk, system.pk) for person in people for system in (push, device)
    )
    assert {(p.state, p.attempts, p.holding.subject_id == p.deletion_request.subject_id) for p in propagations} == {
        ("pending", 0, True)
    }
    assert len({p.idempotency_key for p in propagations}) == 60
    # The device reads them in order, numbered without a gap from where its feed stood.
    numbers = sorted(p.feed_seq for p in propagations if p.system_id == device.pk)
    assert numbers == list(range(feed_before + 1, feed_before + 31))
    assert ProcessingSystem.objects.get(pk=device.pk).feed_seq == feed_before + 30
    assert not any(p.feed_seq for p in propagations if p.system_id == push.pk)
    assert set(Holding.objects.filter(subject__in=people).values_list("status", flat=True)) == {"deletion_pending"}
    # Each person's own chain records their deletion, naming its systems.
    for deletion in deletions:
        event = AuditEvent.objects.get(chain=f"subject:{deletion.subject_id}", action="deletion.opened")
        assert (event.object_type, event.object_id) == ("dataops.deletionrequest", str(deletion.pk))
        assert event.data["systems"] == sorted([push.pk, device.pk]) and event.data["trigger"] == "recognition_ended"
    assert audit_chain_verify() == []
    # Journaled before commit, one tombstone each; one message per chunk carries them to the worker.
    journaled = [t for t in journal_read().tombstones if t.kind == "deletion.opened"]
    assert sorted(t.data["reference"] for t in journaled) == sorted(d.reference for d in deletions)
    delivered = [args[0] for name, args in sent if name == "deletions.deliver"]
    assert [len(chunk) for chunk in delivered] == [12, 12, 6]
    assert sorted(pk for chunk in delivered for pk in chunk) == sorted(ids)

    # Opening again opens nothing: everyone's data is already being deleted.
    assert deletion_requests_open(actor="t", subject_ids=[p.pk for p in people], trigger="recognition_ended") == []


def test_only_the_systems_named_are_asked(people_in_two_systems):
    push, device, people = people_in_two_systems
    ids = deletion_requests_open(
        actor="t", subject_ids=[p.pk for p in people[:5]], trigger="contract_ended", systems=[device]
    )
    assert set(Propagation.objects.filter(deletion_request__in=ids).values_list("system", flat=True)) == {device.pk}
    assert set(Holding.objects.filter(subject__in=people[:5], system=push).values_list("status", flat=True)) == {
        "active"
    }
