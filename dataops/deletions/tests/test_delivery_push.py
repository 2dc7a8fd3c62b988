"""Push delivery: signed thin instructions, answers, retries and refusals, against the simulator."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from dataops.deletions.delivery import http
from dataops.deletions.delivery.instructions import instruction
from dataops.deletions.delivery.push import PushChannel
from dataops.deletions.errors import error_explained
from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import (
    propagation_accepted,
)
from dataops.deletions.tasks import propagations_dispatch
from dataops.registry.credentials import credential_issue
from dataops.registry.services import system_save
from tests import factories

pytestmark = pytest.mark.django_db


Trigger = DeletionRequest.Trigger


@pytest.fixture
def three_systems(entity, purpose, subject):
    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(3)]
    holdings = [factories.holding(subject, s) for s in systems]
    return systems, holdings


def _push_setup(entity, purpose, subject, simulator):
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    holding = factories.holding(subject, system, key="KEY-1")
    return system, holding


def test_push_delivers_a_signed_thin_instruction_and_records_the_evidence(entity, purpose, subject, simulated_push):
    simulator = simulated_push(keys=["KEY-1"])
    system, _ = _push_setup(entity, purpose, subject, simulator)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert p.state == Propagation.State.DELETED
    assert p.evidence["channel"] == "push" and p.evidence["system_evidence"]["records_removed"] == 1
    assert simulator.store.inventory() == []
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.COMPLETED


def test_the_payload_carries_no_personal_data(entity, purpose, subject, three_systems):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    body = json.dumps([instruction(p) for p in deletion.propagations.all()], ensure_ascii=False)
    assert set(instruction(deletion.propagations.first())) == {
        "id",
        "request",
        "subject_key",
        "action",
        "deadline",
    }
    for personal in ("13800138000", "wang@example.com", "王小明"):
        assert personal not in body


def test_an_instruction_delivered_three_times_has_one_effect(entity, purpose, subject, simulated_push):
    simulator = simulated_push(keys=["KEY-1"])
    system, _ = _push_setup(entity, purpose, subject, simulator)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    p = deletion.propagations.select_related("deletion_request").get()
    for _ in range(3):
        PushChannel().deliver(system, [p])  # e.g. a lost answer and two replays
    assert simulator.store.effects() == [(p.idempotency_key, "KEY-1", "deleted")]
    assert Propagation.objects.get(pk=p.pk).state == "deleted"


def test_a_5xx_is_retried_later(entity, purpose, subject, simulated_push):
    simulator = simulated_push(keys=["KEY-1"], failure_rate=1.0)
    system, _ = _push_setup(entity, purpose, subject, simulator)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert (p.state, p.last_error) == ("pending", "HTTP 503")
    assert p.next_attempt_at > timezone.now()
    simulator.failure_rate = 0.0
    Propagation.objects.filter(pk=p.pk).update(next_attempt_at=timezone.now())
    propagations_dispatch(system.pk)
    assert Propagation.objects.get(pk=p.pk).state == "deleted"


def test_a_system_back_online_gets_what_waited_in_backoff_at_once(
    entity, purpose, subject, other_subject, simulated_push
):
    simulator = simulated_push(keys=["KEY-1", "KEY-2"])
    system, _ = _push_setup(entity, purpose, subject, simulator)
    factories.holding(other_subject, system, key="KEY-2")
    simulator.offline()
    waiting = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    for _ in range(4):  # four failed attempts: the next one would be minutes away
        Propagation.objects.filter(deletion_request=waiting).update(next_attempt_at=timezone.now())
        propagations_dispatch(system.pk)
    stuck = waiting.propagations.get()
    assert stuck.next_attempt_at > timezone.now() + dt.timedelta(minutes=3)

    simulator.online()
    fresh = deletion_request_open(actor="t", subject=other_subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)  # the fresh one is delivered and confirmed: the system answers again

    assert fresh.propagations.get().state == "deleted"
    assert waiting.propagations.get().state == "deleted"  # in the same run, not after its backoff
    assert simulator.store.inventory() == []


def test_a_face_template_sent_back_as_evidence_is_not_kept_but_the_deletion_counts(
    entity, purpose, subject, simulated_push, monkeypatch
):
    simulator = simulated_push(keys=["KEY-1"])
    system, _ = _push_setup(entity, purpose, subject, simulator)
    template = [0.125 * n for n in range(128)]  # what a face embedding looks like
    original = simulator._apply
    monkeypatch.setattr(simulator, "_apply", lambda i: {**original(i), "evidence": {"template": template}})
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert p.state == "deleted"
    assert p.evidence["system_evidence"] == {"not_kept": "evidence_template"}
    assert "0.125" not in json.dumps(p.evidence)


def test_an_unreachable_system_is_a_transient_failure(entity, purpose, subject, simulated_push):
    simulator = simulated_push(keys=["KEY-1"])
    system, _ = _push_setup(entity, purpose, subject, simulator)
    simulator.offline()
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert p.state == "pending" and p.attempts == 1 and p.last_error


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_a_refusal_escalates_to_a_person_and_never_counts_as_done(
    status, entity, purpose, subject, monkeypatch, mailoutbox
):

    system = factories.active_system(entity=entity, purpose=purpose)

    credential_issue(actor="t", system=system, kind="webhook_secret")
    factories.holding(subject, system)
    monkeypatch.setattr(http, "post", lambda *a, **k: http.Response(status=status, body=b"{}", headers={}))
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert p.state == Propagation.State.ESCALATED and p.failure_permanent
    assert not p.is_terminal and p.next_attempt_at is None
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.OPEN


def test_a_private_address_is_refused_unless_the_system_is_internal(entity, purpose, subject, simulated_push):
    simulator = simulated_push(keys=["KEY-1"])
    system, _ = _push_setup(entity, purpose, subject, simulator)
    system.is_internal = False

    system_save(actor="t", system=system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert p.state == Propagation.State.ESCALATED
    assert "loopback, private or link-local" in p.last_error
    assert simulator.store.inventory() == ["KEY-1"]  # nothing reached the address


def test_an_accepted_instruction_waits_for_confirmation_and_is_sent_again(
    entity, purpose, subject, monkeypatch, settings
):

    system = factories.active_system(entity=entity, purpose=purpose)

    credential_issue(actor="t", system=system, kind="webhook_secret")
    factories.holding(subject, system)
    monkeypatch.setattr(http, "post", lambda *a, **k: http.Response(status=202, body=b"", headers={}))
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert p.state == Propagation.State.AWAITING
    assert p.next_attempt_at >= timezone.now() + dt.timedelta(seconds=settings.FACERIGHTS_CONFIRMATION_WAIT_SECONDS - 5)
    key = p.idempotency_key
    propagation_accepted(actor="t", propagation=p)
    assert Propagation.objects.get(pk=p.pk).idempotency_key == key


def test_a_system_without_a_secret_is_escalated_not_sent_unsigned(entity, purpose, subject, simulated_push):
    simulator = simulated_push(keys=["KEY-1"])
    system = factories.active_system(entity=entity, purpose=purpose, webhook_url=simulator.url, is_internal=True)
    factories.holding(subject, system, key="KEY-1")
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    assert deletion.propagations.get().state == Propagation.State.ESCALATED
    assert simulator.rejected_signatures == 0 and simulator.store.inventory() == ["KEY-1"]


def test_an_unknown_status_in_an_answer_is_a_problem_the_dpo_sees_not_an_acceptance(
    entity, purpose, subject, simulated_push, monkeypatch
):
    simulator = simulated_push(keys=["KEY-1"])
    system, _ = _push_setup(entity, purpose, subject, simulator)
    original = simulator._apply
    monkeypatch.setattr(simulator, "_apply", lambda i: {**original(i), "status": "done"})
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    propagations_dispatch(system.pk)
    p = deletion.propagations.get()
    assert p.state != "deleted" and p.state != Propagation.State.AWAITING
    assert "unknown status 'done'" in p.last_error
    assert "status the guide does not define" in error_explained(p.last_error)
