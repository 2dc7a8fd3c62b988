"""Carrying propagations to their outcome: evidence, completion, retries, escalation, leases."""

import datetime as dt

import pytest
from django.utils import timezone

from dataops.deletions.models import DeletionRequest, DeliveryAttempt, Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import (
    PropagationError,
    propagation_confirm,
    propagation_fail,
    propagation_retry_later,
    propagations_claim,
)
from dataops.deletions.tasks import propagations_sweep
from dataops.registry.models import Holding
from facerights.models import AuditEvent
from tests import factories

pytestmark = pytest.mark.django_db


Trigger = DeletionRequest.Trigger


@pytest.fixture
def three_systems(entity, purpose, subject):
    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(3)]
    holdings = [factories.holding(subject, s) for s in systems]
    return systems, holdings


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
