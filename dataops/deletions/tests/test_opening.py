"""Opening a deletion: one propagation per system that holds the person, one message after commit."""

import pytest

from dataops.deletions.models import DeletionRequest
from dataops.deletions.opening import deletion_request_open
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
