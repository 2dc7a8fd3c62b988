"""One delivery protocol for every kind of system: a channel per integration mode, one dispatch loop."""

from __future__ import annotations

import ast
from pathlib import Path

from django.utils import timezone

from dataops.deletions.delivery import CHANNELS, Channel, channel_for, system_deliver_due
from dataops.deletions.models import Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.tasks import propagations_dispatch
from dataops.registry.models import ProcessingSystem
from dataops.registry.services import system_deliveries_pause, system_suspend
from tests import factories

TASKS = Path(__file__).resolve().parents[1] / "tasks.py"


def test_every_integration_mode_has_its_channel():
    assert set(CHANNELS) == set(ProcessingSystem.Integration.values)
    for mode, channel in CHANNELS.items():
        assert isinstance(channel, Channel) and channel.mode == mode
        delivers = type(channel).deliver is not Channel.deliver
        assert delivers == bool(channel.batch_size), f"{mode}: a channel that is sent batches delivers them"


def test_the_tasks_never_branch_on_the_integration_mode():
    names = {node.attr for node in ast.walk(ast.parse(TASKS.read_text())) if isinstance(node, ast.Attribute)}
    assert not names & {"PUSH", "PULL", "MANUAL"}


def test_a_pull_device_is_sent_nothing_its_instructions_wait_in_its_feed(entity, purpose, subject):
    system, _token = factories.pull_system(entity=entity, purpose=purpose)
    factories.holding(subject, system)
    deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    assert channel_for(system).batch_size == 0
    assert system_deliver_due(system.pk) == (0, False)
    assert Propagation.objects.get(system=system, deletion_request__subject=subject).state == "pending"


def test_paused_deliveries_wait_and_go_when_resumed_while_a_suspended_system_still_gets_its_deletions(
    entity, purpose, subject, other_subject, simulated_push
):
    simulator = simulated_push(keys=["K1", "K2"])
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    factories.holding(subject, system, key="K1")
    factories.holding(other_subject, system, key="K2")

    system_deliveries_pause(actor="t", system=system, paused=True)
    first = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    assert propagations_dispatch(system.pk) == 0
    waiting = first.propagations.get()
    assert waiting.state == "pending" and waiting.next_attempt_at <= timezone.now()  # still due
    assert simulator.store.effects() == []

    system_deliveries_pause(actor="t", system=system, paused=False)
    assert propagations_dispatch(system.pk) == 1
    assert first.propagations.get().state == "deleted"

    # Suspending a system stops its processing, never the deletions owed to the people it holds.
    system_suspend(actor="t", system=system)
    second = deletion_request_open(actor="t", subject=other_subject, trigger="subject_request")
    assert propagations_dispatch(system.pk) == 1
    assert second.propagations.get().state == "deleted"
