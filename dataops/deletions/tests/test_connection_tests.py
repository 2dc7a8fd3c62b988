"""Connection tests: a synthetic deletion a system must confirm before it can be activated."""

import pytest
from django.urls import reverse

import facerights.queues
from dataops.deletions.connection_tests import connection_test_start
from dataops.deletions.delivery import http
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


@pytest.fixture
def run_tasks(monkeypatch, django_capture_on_commit_callbacks):
    """Run each task sent after commit at once, in this process, as a worker would."""
    monkeypatch.setattr(facerights.queues, "enqueue", lambda name, *args: facerights.queues.task_named(name)(*args))
    return django_capture_on_commit_callbacks


def test_a_failed_connection_test_is_told_as_a_test_and_never_sits_in_the_real_queue(
    entity, site, purpose, monkeypatch, run_tasks, mailoutbox, dpo_client
):
    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    credential_issue(actor="t", system=system, kind="webhook_secret")
    monkeypatch.setattr(http, "post", lambda *a, **k: http.Response(status=404, body=b"", headers={}))
    with run_tasks(execute=True):
        test = connection_test_start(actor="t", system=system, activate_on_pass=True)
        propagations_dispatch(system.pk)
    assert test.deletion_request.propagations.get().state == "escalated"
    [email] = mailoutbox
    assert email.to == [entity.dpo_email]
    assert "连接测试" in email.subject and "不涉及任何人的数据" in email.body  # a test, said so
    en = {"Accept-Language": "en"}
    home = dpo_client.get(reverse("admin:index"), headers=en).content.decode()
    assert "0 escalated deletions" in home
    queue = dpo_client.get(reverse("admin:dataops_propagation_changelist"), headers=en).content.decode()
    assert test.deletion_request.reference not in queue
    tests = dpo_client.get(reverse("admin:dataops_propagation_changelist") + "?for=tests", headers=en)
    assert test.deletion_request.reference in tests.content.decode()
    systems = dpo_client.get(reverse("admin:dataops_processingsystem_changelist"), headers=en).content.decode()
    assert "failed: " in systems and "activated when it passes and nothing else is missing" in systems


def test_a_passed_test_that_cannot_activate_the_system_tells_the_dpo_what_is_missing(
    entity, site, purpose, mailoutbox, django_capture_on_commit_callbacks
):
    system = factories.draft_system(entity=entity, site=site, purpose=purpose)
    factories.approved_assessment(entity, [system])  # but no published notice
    test = connection_test_start(actor="t", system=system, activate_on_pass=True)
    with django_capture_on_commit_callbacks(execute=True):
        propagation_confirm(
            actor="t", propagation=test.deletion_request.propagations.get(), outcome="not_found", evidence={"n": 1}
        )
    system.refresh_from_db()
    assert system.status == ProcessingSystem.Status.DRAFT and system.connection_verified_at is not None
    [email] = mailoutbox
    assert email.to == [entity.dpo_email] and "告知书" in email.body
