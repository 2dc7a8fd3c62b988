"""The propagation state machine: one table, walked; the services move only along it; one `due` query."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone

from dataops.deletions import states
from dataops.deletions.models import Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import (
    propagation_accepted,
    propagation_confirm,
    propagation_escalate,
    propagation_fail,
    propagation_mark_sent,
    propagation_retry_later,
    propagations_claim,
)
from dataops.deletions.tasks import propagations_sweep
from facerights.services import TransitionError
from tests import factories

README = Path(__file__).resolve().parents[2] / "README.md"
State = states.State


def test_the_terminal_states_go_nowhere_and_every_other_state_is_open():
    assert set(states.TERMINAL) == {State.DELETED, State.NOT_FOUND, State.HELD, State.APPLIED}
    assert all(not states.TRANSITIONS[s] for s in states.TERMINAL)
    assert set(states.OPEN) == set(State.values) - set(states.TERMINAL)
    assert set(states.TRANSITIONS) == set(State.values)  # every state has a row
    assert "failed" not in State.values  # a failure escalates at once: it is never a state that lasts


@pytest.mark.parametrize("current", State.values)
@pytest.mark.parametrize("to", State.values)
def test_the_table_decides_every_move(current, to):
    allowed = to == current or to in states.TRANSITIONS[current]
    assert states.allowed(current, to) is allowed
    if allowed:
        states.check(current, to)
    else:
        with pytest.raises(TransitionError):
            states.check(current, to)


def test_the_readme_draws_every_state_of_the_code():
    drawing = README.read_text().split("## The lifecycle of a propagation", 1)[1].split("```")[1]
    drawn = set(re.findall(r"[a-z_]+", drawing)) & set(State.values)
    assert drawn == set(State.values)


@pytest.fixture
def propagation(subject, system):
    factories.holding(subject, system)
    deletion = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    return deletion.propagations.get()


def _put(p: Propagation, state: str) -> Propagation:
    """Place a propagation in a state, as if the ledger had carried it there."""
    fields = {"state": state, "claimed_until": None}
    if state in states.TERMINAL:
        fields.update(evidence={"walked": True}, evidence_sha256="0" * 64, held_reason="legal hold")
    if state == State.ESCALATED:
        fields["escalated_at"] = timezone.now()
    Propagation.objects.filter(pk=p.pk).update(**fields)
    return Propagation.objects.get(pk=p.pk)


OUTCOMES = {
    "mark_sent": lambda p: propagation_mark_sent(actor="t", propagation=p, next_attempt_at=None),
    "accepted": lambda p: propagation_accepted(actor="t", propagation=p),
    "retry_later": lambda p: propagation_retry_later(actor="t", propagation=p, error="HTTP 503"),
    "fail": lambda p: propagation_fail(actor="t", propagation=p, error="HTTP 410"),
    "escalate": lambda p: propagation_escalate(actor="t", propagation=p, reason="past_deadline"),
    "confirm": lambda p: propagation_confirm(actor="t", propagation=p, outcome="deleted", evidence={"n": 1}),
}


@pytest.mark.parametrize("outcome", OUTCOMES)
@pytest.mark.parametrize("start", State.values)
def test_every_service_moves_only_along_the_table(propagation, start, outcome):
    before = _put(propagation, start)
    OUTCOMES[outcome](before)
    after = Propagation.objects.get(pk=propagation.pk).state
    assert after == start or after in states.TRANSITIONS[start], f"{outcome}: {start} -> {after}"
    if start in states.TERMINAL:
        assert after == start  # a terminal propagation never changes


def test_due_is_open_past_its_time_and_unclaimed(subject, other_subject, system):
    now = timezone.now()
    people = [factories.subject(phone=f"1350000{n:04d}") for n in range(8)]
    for person in people:
        factories.holding(person, system)
    deletion_ids = [deletion_request_open(actor="t", subject=p, trigger="dpo_action").pk for p in people]
    rows = list(Propagation.objects.filter(deletion_request_id__in=deletion_ids).order_by("pk"))
    cases = [
        (State.PENDING, now - dt.timedelta(seconds=1), None, True),
        (State.SENT, now - dt.timedelta(seconds=1), None, True),
        (State.AWAITING, now - dt.timedelta(seconds=1), now - dt.timedelta(seconds=1), True),  # lease ran out
        (State.ESCALATED, now - dt.timedelta(seconds=1), None, True),
        (State.PENDING, now + dt.timedelta(minutes=5), None, False),  # in backoff
        (State.PENDING, now - dt.timedelta(seconds=1), now + dt.timedelta(minutes=5), False),  # claimed
        (State.PENDING, None, None, False),  # nothing scheduled
        (State.DELETED, now - dt.timedelta(seconds=1), None, False),
    ]
    expected = set()
    for p, (state, next_at, lease, due) in zip(rows, cases, strict=True):
        _put(p, state)
        Propagation.objects.filter(pk=p.pk).update(next_attempt_at=next_at, claimed_until=lease)
        if due:
            expected.add(p.pk)
    found = set(Propagation.objects.filter(states.due(now), pk__in=[p.pk for p in rows]).values_list("pk", flat=True))
    assert found == expected
    # The claim and the sweeper read the same query: what is due is what they take.
    assert propagations_sweep()["systems"] == 1
    claimed = {p.pk for p in propagations_claim(system=system, limit=100, now=now)}
    assert claimed == expected
