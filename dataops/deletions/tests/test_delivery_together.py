"""A new deletion goes to all its push systems at once, and their answers are recorded together."""

import json
import threading

import pytest
from django.db import connection, transaction

from dataops.deletions.delivery import http
from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import Confirmation, PropagationError, propagations_confirm
from dataops.deletions.tasks import deletions_deliver
from dataops.registry.credentials import credential_issue
from dataops.registry.models import ProcessingSystem
from facerights.audit import audit_chain_verify
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

Trigger = DeletionRequest.Trigger


def _push_systems(entity, purpose, count, **overrides):
    systems = []
    for n in range(count):
        system = factories.active_system(
            entity=entity,
            purpose=purpose,
            integration="push",
            webhook_url=f"https://system-{n}.example.com/hook",
            **overrides,
        )
        credential_issue(actor="t", system=system, kind="webhook_secret")
        systems.append(system)
    return systems


class Systems:
    """Stands in for the systems' webhooks: each answers only once all of them were called (a barrier)."""

    def __init__(self, expected: int, evidence: dict):
        self.barrier = threading.Barrier(expected, timeout=10)
        self.calls: list[str] = []
        self.evidence = evidence
        self.lock = threading.Lock()

    def post(self, url, body, headers, *, allow_internal):
        with self.lock:
            self.calls.append(url)
        self.barrier.wait()  # called one after another, the first would wait here for good (BrokenBarrierError)
        answer = {
            "results": [
                {"id": item["id"], "status": "deleted", "evidence": self.evidence}
                for item in json.loads(body)["instructions"]
            ]
        }
        return http.Response(status=200, body=json.dumps(answer).encode(), headers={})


def test_a_persons_deletion_reaches_its_three_systems_at_once_and_completes_in_one_run(
    entity, purpose, subject, monkeypatch
):
    systems = _push_systems(entity, purpose, 3)
    for system in systems:
        factories.holding(subject, system)
    webhooks = Systems(3, {"records_removed": 1})
    monkeypatch.setattr(http, "post", webhooks.post)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)

    assert deletions_deliver([deletion.pk]) == 3

    assert sorted(webhooks.calls) == sorted(s.webhook_url for s in systems)  # each system called once
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.COMPLETED
    assert set(deletion.propagations.values_list("state", flat=True)) == {Propagation.State.DELETED}
    assert all(p.evidence["system_evidence"] == {"records_removed": 1} for p in deletion.propagations.all())
    # Each confirmation is its own event in the person's chain, and the chain holds.
    actions = list(AuditEvent.objects.filter(chain=subject.audit_chain).values_list("action", flat=True))
    assert actions.count("propagation.deleted") == 3 and actions[-1] == "deletion.completed"
    assert audit_chain_verify([subject.audit_chain]) == []


def test_a_system_whose_answer_cannot_be_recorded_does_not_lose_the_others(entity, purpose, subject, monkeypatch):
    """Face recognition ended: a processor must prove its deletion with a certificate (PIPL Art 21); one that
    answers "deleted" without it is not recorded, and the company's own systems' confirmations still are."""
    own = _push_systems(entity, purpose, 2)
    (processor,) = _push_systems(
        entity, purpose, 1, kind=ProcessingSystem.Kind.PROCESSOR, contract_reference="HT-2026-07"
    )
    for system in [*own, processor]:
        factories.holding(subject, system)
    monkeypatch.setattr(http, "post", Systems(3, {"records_removed": 1}).post)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.RECOGNITION_ENDED)

    with pytest.raises(PropagationError) as refused:
        deletions_deliver([deletion.pk])

    assert refused.value.code == "certificate"
    states = dict(deletion.propagations.values_list("system_id", "state"))
    assert [states[s.pk] for s in own] == [Propagation.State.DELETED, Propagation.State.DELETED]
    assert states[processor.pk] not in Propagation.TERMINAL  # sent again once its claim lapses
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.OPEN


def test_a_call_that_breaks_unexpectedly_is_that_systems_failure_alone(entity, purpose, subject, monkeypatch):
    systems = _push_systems(entity, purpose, 3)
    for system in systems:
        factories.holding(subject, system)
    answering = Systems(2, {"records_removed": 1})

    def post(url, body, headers, *, allow_internal):
        if url == systems[1].webhook_url:
            raise ValueError("port out of range 0-65535")  # what urllib3 raises for some addresses
        return answering.post(url, body, headers, allow_internal=allow_internal)

    monkeypatch.setattr(http, "post", post)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)

    deletions_deliver([deletion.pk])

    by_system = {p.system_id: p for p in deletion.propagations.all()}
    assert by_system[systems[0].pk].state == by_system[systems[2].pk].state == Propagation.State.DELETED
    broken = by_system[systems[1].pk]
    assert broken.state == Propagation.State.PENDING and "ValueError" in broken.last_error  # tried again later


def test_two_workers_confirming_one_deletion_at_once_complete_it(entity, purpose, subject):
    """Two systems' answers recorded at the same moment by two workers: the deletion still completes."""
    systems = _push_systems(entity, purpose, 2)
    for system in systems:
        factories.holding(subject, system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    first, second = (deletion.propagations.get(system=s) for s in systems)
    evidence = {"channel": "push", "system_evidence": {}}
    recorded, release = threading.Event(), threading.Event()

    def worker_one():
        with transaction.atomic():
            propagations_confirm(actor="t", confirmations=[Confirmation(first.pk, "deleted", evidence)])
            recorded.set()
            release.wait(10)  # still uncommitted while the other worker records its answer
        connection.close()

    def worker_two():
        recorded.wait(10)
        propagations_confirm(actor="t", confirmations=[Confirmation(second.pk, "deleted", evidence)])
        connection.close()

    threads = [threading.Thread(target=worker_one), threading.Thread(target=worker_two)]
    for thread in threads:
        thread.start()
    recorded.wait(10)
    threads[1].join(0.5)  # the second worker waits for the first to commit (or, wrongly, finishes alone)
    release.set()
    for thread in threads:
        thread.join(10)

    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.COMPLETED
