"""Any sequence of outcomes keeps the ledger honest (Hypothesis)."""

import contextlib
import datetime as dt

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import (
    PropagationError,
    propagation_accepted,
    propagation_confirm,
    propagation_escalate,
    propagation_fail,
    propagation_retry_later,
    propagation_retry_now,
    propagations_claim,
)
from tests import factories

pytestmark = pytest.mark.django_db


EVENTS = st.sampled_from(
    [
        "claim",
        "deleted",
        "not_found",
        "held",
        "held_no_reason",
        "no_evidence",
        "accepted",
        "transient",
        "permanent",
        "escalate",
        "retry_now",
        "window_spent",
    ]
)


def _apply(event: str, p: Propagation) -> None:
    if event == "claim":
        propagations_claim(system=p.system, now=timezone.now() + dt.timedelta(days=1))
    elif event in ("deleted", "not_found"):
        propagation_confirm(actor="h", propagation=p, outcome=event, evidence={"event": event})
    elif event == "held":
        propagation_confirm(actor="h", propagation=p, outcome="held", evidence={"event": event}, reason="legal hold")
    elif event == "held_no_reason":
        propagation_confirm(actor="h", propagation=p, outcome="held", evidence={"event": event}, reason="")
    elif event == "no_evidence":
        propagation_confirm(actor="h", propagation=p, outcome="deleted", evidence={})
    elif event == "accepted":
        propagation_accepted(actor="h", propagation=p)
    elif event == "transient":
        propagation_retry_later(actor="h", propagation=p, error="503")
    elif event == "permanent":
        propagation_fail(actor="h", propagation=p, error="410")
    elif event == "escalate":
        propagation_escalate(actor="h", propagation=p, reason="past_deadline")
    elif event == "retry_now":
        propagation_retry_now(actor="h", propagation=p)
    elif event == "window_spent":
        Propagation.objects.filter(pk=p.pk).update(created_at=timezone.now() - dt.timedelta(days=5))
        propagation_retry_later(actor="h", propagation=p, error="timeout")


@pytest.fixture
def systems(entity, purpose):
    return [factories.active_system(entity=entity, purpose=purpose) for _ in range(3)]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(events=st.lists(st.tuples(st.integers(0, 2), EVENTS), max_size=25))
def test_any_sequence_of_events_keeps_the_ledger_honest(systems, events):
    subject = factories.subject()
    for system in systems:
        factories.holding(subject, system)
    deletion = deletion_request_open(actor="h", subject=subject, trigger="subject_request")
    propagations = list(deletion.propagations.order_by("pk"))
    terminal_seen: dict[int, tuple[str, str]] = {}
    completed_once = False
    for index, event in events:
        with contextlib.suppress(PropagationError):  # refused: nothing may change
            _apply(event, propagations[index])
        for p in Propagation.objects.filter(deletion_request=deletion):
            if p.is_terminal:
                assert p.evidence and len(p.evidence_sha256) == 64, "terminal without evidence"
                assert terminal_seen.setdefault(p.pk, (p.state, p.evidence_sha256)) == (p.state, p.evidence_sha256), (
                    "a terminal state changed"
                )
            else:
                assert p.pk not in terminal_seen, "a terminal propagation reopened"
        state = DeletionRequest.objects.get(pk=deletion.pk).state
        all_terminal = all(p.is_terminal for p in Propagation.objects.filter(deletion_request=deletion))
        assert (state == "completed") == all_terminal
        if completed_once:
            assert state == "completed", "a completed request reopened"
        completed_once = completed_once or state == "completed"
    # Whatever happened, each propagation ends terminal or escalated once the system answers or time runs out.
    for p in Propagation.objects.filter(deletion_request=deletion):
        if not p.is_terminal:
            propagation_escalate(actor="h", propagation=p, reason="past_deadline")
    assert all(p.is_terminal or p.state == "escalated" for p in Propagation.objects.filter(deletion_request=deletion))
