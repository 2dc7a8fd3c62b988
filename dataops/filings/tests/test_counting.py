"""The daily count of distinct people."""

import pytest

from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm
from dataops.filings.counting import person_counts_take, stored_persons
from dataops.filings.models import PersonCount
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_person_held_by_five_systems_counts_once_and_deletions_drop_out(entity, purpose):

    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(5)]
    people = [factories.subject(phone=f"1340000{n:04d}") for n in range(3)]
    for person in people:
        for system in systems:
            factories.holding(person, system)
    assert stored_persons(entity) == 3
    deletion = deletion_request_open(actor="t", subject=people[0], trigger="subject_request")
    for p in deletion.propagations.all():
        propagation_confirm(actor="t", propagation=p, outcome="deleted", evidence={"n": p.pk})
    assert stored_persons(entity) == 2
    [count] = [c for c in person_counts_take() if c.entity == entity]
    assert count.persons == 2
    person_counts_take()
    assert PersonCount.objects.filter(entity=entity).count() == 1  # once a day
