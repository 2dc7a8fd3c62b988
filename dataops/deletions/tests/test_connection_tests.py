"""Connection tests: a synthetic deletion a system must confirm before it can be activated."""

import pytest

from dataops.deletions.connection_tests import connection_test_start
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm
from dataops.deletions.tasks import propagations_dispatch
from dataops.registry.credentials import credential_issue
from dataops.registry.models import ProcessingSystem
from dataops.registry.services import (
    system_activate,
)
from facerights.services import TransitionError
from tests import factories

pytestmark = pytest.mark.django_db


def test_no_activation_before_a_connection_test_passes(entity, site, purpose):

    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    factories.approved_assessment(entity, [system])
    factories.published_notice(system)
    connection_test_start(actor="t", system=system)  # sent, not yet confirmed
    with pytest.raises(TransitionError) as info:
        system_activate(actor="t", system=system)
    assert "connection test" in " ".join(info.value.messages)


def test_a_connection_test_that_passes_can_activate_the_system(entity, site, purpose):

    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    factories.approved_assessment(entity, [system])
    factories.published_notice(system)
    test = connection_test_start(actor="t", system=system, activate_on_pass=True)
    instruction = test.deletion_request.propagations.get()
    assert instruction.subject_key.startswith("FACERIGHTS-TEST-")
    propagation_confirm(actor="t", propagation=instruction, outcome="not_found", evidence={"log": 1})
    system.refresh_from_db()
    test.refresh_from_db()
    assert test.passed_at is not None
    assert system.status == ProcessingSystem.Status.ACTIVE


def test_a_draft_push_system_receives_its_connection_test_over_its_webhook_and_is_activated(
    entity, site, purpose, subject, simulated_push
):

    simulator = simulated_push(keys=["REAL-KEY"])
    system = factories.draft_system(entity=entity, site=site, purpose=purpose, webhook_url=simulator.url)
    credential_issue(actor="t", system=system, kind="webhook_secret", value=simulator.secret)
    factories.approved_assessment(entity, [system])
    factories.published_notice(system)
    factories.holding(subject, system, key="REAL-KEY")
    real = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    connection_test_start(actor="t", system=system, activate_on_pass=True)

    propagations_dispatch(system.pk)  # as the worker does, on the draft system

    system.refresh_from_db()
    assert system.status == ProcessingSystem.Status.ACTIVE  # the test went over the wire and passed
    assert [key for _id, key, _outcome in simulator.store.effects() if key == "REAL-KEY"] == []  # nothing real yet
    assert real.propagations.get().state == "pending"
    propagations_dispatch(system.pk)  # active now: the real deletion follows
    assert real.propagations.get().state == "deleted"
