"""The deletion ledger: opening, outcomes, evidence, completion, retries and escalation."""

import datetime as dt
import json

import pytest
from django.utils import timezone

from dataops.deletions.delivery.instructions import instruction
from dataops.deletions.delivery.push import PushChannel
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import (
    PropagationError,
    propagation_accepted,
    propagation_confirm,
    propagation_fail,
    propagation_retry_later,
    propagations_claim,
)
from dataops.deletions.tasks import propagations_dispatch, propagations_sweep
from dataops.models import DeletionRequest, DeliveryAttempt, Holding, Propagation
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db
Trigger = DeletionRequest.Trigger


@pytest.fixture
def three_systems(entity, purpose, subject):
    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(3)]
    holdings = [factories.holding(subject, s) for s in systems]
    return systems, holdings


@pytest.mark.parametrize("trigger", Trigger.values)
def test_every_trigger_opens_one_propagation_per_holding_system(
    trigger, subject, three_systems, django_capture_on_commit_callbacks
):
    systems, holdings = three_systems
    with django_capture_on_commit_callbacks() as callbacks:
        deletion = deletion_request_open(actor="t", subject=subject, trigger=trigger)
    assert deletion.trigger == trigger
    assert sorted(deletion.propagations.values_list("system_id", flat=True)) == sorted(s.pk for s in systems)
    assert set(Holding.objects.filter(subject=subject).values_list("status", flat=True)) == {"deletion_pending"}
    assert len(callbacks) == 1  # one message for the deletion, sent only after commit; the worker fans out
    assert AuditEvent.objects.filter(action="deletion.opened", chain=subject.audit_chain).count() == 1


def test_a_deletion_limited_to_one_system_leaves_the_others(subject, three_systems):
    systems, _ = three_systems
    deletion = deletion_request_open(
        actor="t", subject=subject, trigger=Trigger.CONSENT_WITHDRAWN, systems=[systems[1]]
    )
    assert list(deletion.propagations.values_list("system_id", flat=True)) == [systems[1].pk]
    assert Holding.objects.filter(subject=subject, status="active").count() == 2


def test_nothing_held_opens_nothing(subject, three_systems):
    deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    assert deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST) is None
    assert DeletionRequest.objects.filter(subject=subject).count() == 1


def test_nothing_is_terminal_without_evidence(subject, three_systems):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    p = deletion.propagations.first()
    with pytest.raises(PropagationError):
        propagation_confirm(actor="t", propagation=p, outcome="deleted", evidence={})
    with pytest.raises(PropagationError):
        propagation_confirm(actor="t", propagation=p, outcome="held", evidence={"x": 1}, reason=" ")
    p.refresh_from_db()
    assert p.state == Propagation.State.PENDING


def test_the_request_completes_when_every_propagation_is_terminal(subject, three_systems):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    first, second, third = deletion.propagations.order_by("pk")
    propagation_confirm(actor="t", propagation=first, outcome="deleted", evidence={"log": 1})
    propagation_confirm(actor="t", propagation=second, outcome="not_found", evidence={"log": 2})
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.OPEN
    propagation_confirm(
        actor="t", propagation=third, outcome="held", evidence={"log": 3}, reason="法律规定的保存期限未届满"
    )
    deletion.refresh_from_db()
    assert deletion.state == DeletionRequest.State.COMPLETED
    statuses = dict(Holding.objects.filter(subject=subject).values_list("system_id", "status"))
    assert sorted(statuses.values()) == ["deleted", "deleted", "retained"]
    assert all(len(p.evidence_sha256) == 64 for p in deletion.propagations.all())


def test_a_terminal_propagation_never_changes_and_a_completed_request_never_reopens(subject, three_systems):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    for p in deletion.propagations.all():
        propagation_confirm(actor="t", propagation=p, outcome="deleted", evidence={"n": p.pk})
    p = deletion.propagations.first()
    fingerprint = Propagation.objects.get(pk=p.pk).evidence_sha256
    propagation_confirm(actor="t", propagation=p, outcome="not_found", evidence={"other": 1})
    propagation_fail(actor="t", propagation=p, error="late failure")
    propagation_retry_later(actor="t", propagation=p, error="late")
    p.refresh_from_db()
    deletion.refresh_from_db()
    assert (p.state, p.evidence_sha256) == ("deleted", fingerprint)
    assert deletion.state == DeletionRequest.State.COMPLETED


def test_a_transient_failure_backs_off_and_retries(subject, three_systems):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    p = deletion.propagations.first()
    [p] = propagations_claim(system=p.system, limit=1)
    before = timezone.now()
    p = propagation_retry_later(actor="t", propagation=p, error="HTTP 503", retry_after=120)
    assert p.state == Propagation.State.PENDING
    assert p.next_attempt_at >= before + dt.timedelta(seconds=120)  # Retry-After wins over a shorter backoff
    assert DeliveryAttempt.objects.get(propagation=p).outcome == "transient"


def test_retries_end_after_the_window_and_escalate(subject, three_systems):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    p = deletion.propagations.first()
    Propagation.objects.filter(pk=p.pk).update(created_at=timezone.now() - dt.timedelta(days=5))
    p = propagation_retry_later(actor="t", propagation=p, error="timeout")
    assert p.state == Propagation.State.ESCALATED
    assert p.escalated_at is not None and not p.is_terminal


def test_the_sweeper_escalates_what_is_past_its_deadline(subject, three_systems):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    Propagation.objects.filter(deletion_request=deletion).update(deadline=timezone.localdate() - dt.timedelta(days=1))
    propagations_sweep()
    assert set(deletion.propagations.values_list("state", flat=True)) == {"escalated"}
    propagations_sweep()  # twice: still one escalation each
    assert AuditEvent.objects.filter(action="propagation.escalated").count() == 3


def test_a_claim_is_a_lease_that_expires(subject, three_systems, settings):
    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    system = deletion.propagations.first().system
    [claimed] = propagations_claim(system=system)
    assert propagations_claim(system=system) == []  # a second worker gets nothing while the lease holds
    later = timezone.now() + dt.timedelta(seconds=settings.FACERIGHTS_CLAIM_LEASE_SECONDS + 1)
    [again] = propagations_claim(system=system, now=later)  # the first worker died: the row is due again
    assert again.pk == claimed.pk and again.attempts == 2


# --- Push, against the simulated system on loopback ------------------------------------------------


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
    from dataops.deletions.delivery import http

    system = factories.active_system(entity=entity, purpose=purpose)
    from dataops.registry.credentials import credential_issue

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
    from dataops.registry.services import system_save

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
    from dataops.deletions.delivery import http

    system = factories.active_system(entity=entity, purpose=purpose)
    from dataops.registry.credentials import credential_issue

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


def test_identifiers_are_shredded_a_day_after_the_last_deletion_and_tombstones_remain(subject, three_systems):
    from consent.services import subject_find, subject_identifiers
    from dataops.deletions.shredding import subjects_shred_due
    from facerights import crypto

    deletion = deletion_request_open(actor="t", subject=subject, trigger=Trigger.SUBJECT_REQUEST)
    for p in deletion.propagations.all():
        propagation_confirm(actor="t", propagation=p, outcome="deleted", evidence={"n": p.pk})
    assert subjects_shred_due(actor="t") == 0  # not yet: the completion notice must reach them first
    assert subjects_shred_due(actor="t", now=timezone.now() + dt.timedelta(days=2)) == 1
    subject.refresh_from_db()
    assert subject.shredded_at is not None and subject.wrapped_key is None
    with pytest.raises(crypto.DecryptionError):
        subject_identifiers(subject)
    assert subject_find(kind="phone", value="13800138000") == subject  # the keyed-hash tombstone
    assert deletion.propagations.filter(evidence_sha256="").count() == 0  # the evidence stays


def test_a_subject_still_held_somewhere_is_not_shredded(subject, three_systems):
    from dataops.deletions.shredding import subjects_shred_due

    systems, _ = three_systems
    deletion = deletion_request_open(
        actor="t", subject=subject, trigger=Trigger.CONSENT_WITHDRAWN, systems=[systems[0]]
    )
    propagation_confirm(actor="t", propagation=deletion.propagations.get(), outcome="deleted", evidence={"n": 1})
    assert subjects_shred_due(actor="t", now=timezone.now() + dt.timedelta(days=2)) == 0
