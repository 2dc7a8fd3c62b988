"""The propagation state machine: every state, every move allowed between them, and when one is due.

One propagation carries one deletion instruction to one system until the system
confirms it (dataops/README.md draws it):

    pending ──pushed, answered "accepted"──► awaiting ──callback / ack──► deleted | not_found | held
    pending ──fetched by a device / emailed to a vendor──► sent ──ack / link──► deleted | not_found | held
    pending ──pushed, answered with the outcome──► deleted | not_found | held
    sent, awaiting ──429, 5xx, timeout: tried again after a backoff──► pending
    pending, sent, awaiting ──refused for good, retries spent, past its deadline──► escalated
    escalated ──confirmed (delivery goes on meanwhile)──► deleted | not_found | held

A restriction (or its lifting) travels the same way and ends as applied or not_found.
The four outcomes are terminal: a terminal propagation never changes again.
"Escalated" is open: a person (the DPO) has been told, and delivery goes on.
Staying in the same state (another attempt, a reminder) is always allowed.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from facerights.services import TransitionError


class State(models.TextChoices):
    """Where a propagation stands (`Propagation.State`)."""

    PENDING = "pending", gettext_lazy("waiting to be sent")
    SENT = "sent", gettext_lazy("sent")  # fetched by a device or emailed to a vendor; no answer yet
    AWAITING = "awaiting", gettext_lazy("awaiting confirmation")  # the system took it and will confirm
    DELETED = "deleted", gettext_lazy("deleted")
    NOT_FOUND = "not_found", gettext_lazy("not found: nothing to delete")
    HELD = "held", gettext_lazy("held, with a reason")  # kept for a legal reason, processing stopped (PIPL Art 47)
    APPLIED = "applied", gettext_lazy("done by the system")  # a restriction applied, or lifted
    ESCALATED = "escalated", gettext_lazy("escalated to a person")  # failed for good, or late; still open


TERMINAL: tuple[str, ...] = (State.DELETED, State.NOT_FOUND, State.HELD, State.APPLIED)

TRANSITIONS: dict[str, frozenset[str]] = {
    State.PENDING: frozenset({State.SENT, State.AWAITING, State.ESCALATED, *TERMINAL}),
    State.SENT: frozenset({State.PENDING, State.AWAITING, State.ESCALATED, *TERMINAL}),
    State.AWAITING: frozenset({State.PENDING, State.ESCALATED, *TERMINAL}),
    State.ESCALATED: frozenset(TERMINAL),
    State.DELETED: frozenset(),
    State.NOT_FOUND: frozenset(),
    State.HELD: frozenset(),
    State.APPLIED: frozenset(),
}


class Action(models.TextChoices):
    """What an instruction asks the system to do (`DeletionRequest.Action`)."""

    DELETE = "delete", gettext_lazy("delete")
    RESTRICT = "restrict", gettext_lazy("restrict processing")  # PIPL Art 44: keep the data, process no one
    LIFT_RESTRICTION = "lift_restriction", gettext_lazy("lift the restriction")


# What a system may answer to each action (its wire status), and the outcome each answer records.
ANSWERS: dict[str, dict[str, str]] = {
    Action.DELETE: {"deleted": State.DELETED, "not_found": State.NOT_FOUND, "held": State.HELD},
    Action.RESTRICT: {"restricted": State.APPLIED, "not_found": State.NOT_FOUND},
    Action.LIFT_RESTRICTION: {"lifted": State.APPLIED, "not_found": State.NOT_FOUND},
}
# Every status a system may answer with, any action: "accepted" promises a callback.
WIRE_STATUSES: tuple[str, ...] = (*sorted({status for answers in ANSWERS.values() for status in answers}), "accepted")


def outcome_for(action: str, status: str) -> str | None:
    """The outcome a system's answer records for an instruction of this action; None when it does not fit
    ("deleted" to a restriction, "done", or "accepted", which is no outcome)."""
    return ANSWERS.get(action, {}).get(status)


# Open: still to be confirmed, so delivered, retried and watched by the sweeper.
OPEN: tuple[str, ...] = tuple(state for state, moves in TRANSITIONS.items() if moves)


def allowed(current: str, to: str) -> bool:
    """May a propagation in `current` move to `to`? Staying put is always allowed, except out of nothing."""
    return to == current or to in TRANSITIONS[current]


def check(current: str, to: str) -> None:
    """Raise TransitionError unless the move is in the table."""
    if not allowed(current, to):
        raise TransitionError(
            _("A propagation cannot go from %(from)s to %(to)s.")
            % {"from": State(current).label, "to": State(to).label},
            code="transition",
        )


def unclaimed(now: dt.datetime) -> Q:
    """No worker holds the row: never claimed, or its lease ran out."""
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


def due(now: dt.datetime) -> Q:
    """Open, its next attempt is due, and no worker holds it: what a delivery claims and the sweeper sends."""
    return Q(state__in=OPEN, next_attempt_at__lte=now) & unclaimed(now)
