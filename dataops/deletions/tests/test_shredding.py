"""Crypto-shredding the identifiers of people nothing is held about any more."""

import datetime as dt

import pytest
from django.utils import timezone

from consent.services import subject_find, subject_identifiers
from dataops.deletions.models import DeletionRequest
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import (
    propagation_confirm,
)
from dataops.deletions.shredding import subjects_shred_due
from facerights import crypto
from tests import factories

pytestmark = pytest.mark.django_db


Trigger = DeletionRequest.Trigger


@pytest.fixture
def three_systems(entity, purpose, subject):
    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(3)]
    holdings = [factories.holding(subject, s) for s in systems]
    return systems, holdings


def test_identifiers_are_shredded_a_day_after_the_last_deletion_and_tombstones_remain(subject, three_systems):

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

    systems, _ = three_systems
    deletion = deletion_request_open(
        actor="t", subject=subject, trigger=Trigger.CONSENT_WITHDRAWN, systems=[systems[0]]
    )
    propagation_confirm(actor="t", propagation=deletion.propagations.get(), outcome="deleted", evidence={"n": 1})
    assert subjects_shred_due(actor="t", now=timezone.now() + dt.timedelta(days=2)) == 0
