"""The protocol every integration mode implements (see the package's docstring), and what they share."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ...registry.models import ProcessingSystem
from ..models import Propagation
from ..propagations import Confirmation, PropagationError, propagations_confirm
from ..states import ANSWERS, TERMINAL, Action, outcome_for

CONTACT_RESOLUTION = dt.timedelta(minutes=1)


class UnknownInstruction(Exception):
    """An answer names an instruction that is not one of this system's."""


@dataclass(frozen=True)
class Answer:
    """What a system says it did with one instruction, as it said it."""

    instruction_id: str
    status: str
    reason: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)


class Channel:
    """One integration mode. Subclasses set `mode` and `batch_size` and implement `deliver`."""

    mode: ClassVar[str]
    batch_size: ClassVar[int]  # instructions per delivery; 0: the system fetches them itself
    # Where the system's own evidence goes in ours; None: it is ours (a form we show), merged in.
    evidence_key: ClassVar[str | None] = "system_evidence"
    # Lenient: an answer that cannot be used (an unknown id, held without a reason) is
    # skipped and the rest recorded, as for a webhook's batch answer. Strict: the whole
    # answer is refused with the reason, as for an API call the system can correct.
    lenient: ClassVar[bool] = False
    actor_kind: ClassVar[str] = "system"  # the audit actor of its answers: "<kind>:<system id>"

    def deliver(self, system: ProcessingSystem, batch: list[Propagation]) -> bool | None:
        """Carry the batch to the system; True if that made other instructions due at once."""
        raise NotImplementedError

    def deliver_many(self, batches: list[tuple[ProcessingSystem, list[Propagation]]]) -> set[int]:
        """Deliver several systems' batches (a deletion's systems of this mode); the systems it released.

        One after another here; a channel that can do better (push: the calls at once, the
        outcomes in one transaction) overrides it.
        """
        return {system.pk for system, batch in batches if self.deliver(system, batch)}

    def confirm(
        self,
        system: ProcessingSystem,
        answers: list[Answer],
        *,
        via: dict[str, Any],
        status: int | None = None,
        actor: str | None = None,
        batch: list[Propagation] | None = None,
    ) -> dict[str, str]:
        """Record each answer's outcome with its evidence; return the state of every instruction named.

        `via` says how the answers reached us (the channel, a message id, times) and
        becomes part of each confirmation's evidence. Raises UnknownInstruction or
        PropagationError when strict and an answer is not usable; nothing is then recorded.
        `batch` is the system's claimed instructions the answers are to (a delivery's own
        answer), so they need not be looked up again.
        """
        confirmations, ids = self.confirmations(system, answers, via=via, status=status, batch=batch)
        changed = propagations_confirm(actor=actor or f"{self.actor_kind}:{system.pk}", confirmations=confirmations)
        return states_after(ids, confirmations, all_applied=changed == len(confirmations))

    def confirmations(
        self,
        system: ProcessingSystem,
        answers: list[Answer],
        *,
        via: dict[str, Any],
        status: int | None = None,
        batch: list[Propagation] | None = None,
    ) -> tuple[list[Confirmation], dict[str, int]]:
        """The checked confirmations the answers make, and the instructions they name (key to id); records nothing."""
        if batch is not None:
            named = {a.instruction_id for a in answers}
            known = {
                p.idempotency_key: (p.pk, p.deletion_request.action)
                for p in batch
                if p.system_id == system.pk and p.idempotency_key in named
            }
        else:
            known = {
                key: (pk, action)
                for key, pk, action in Propagation.objects.filter(
                    system=system, idempotency_key__in=[a.instruction_id for a in answers]
                ).values_list("idempotency_key", "pk", "deletion_request__action")
            }
        ids = {key: pk for key, (pk, _action) in known.items()}
        if not self.lenient and len(ids) != len({a.instruction_id for a in answers}):
            raise UnknownInstruction
        confirmations = []
        for answer in answers:
            if answer.instruction_id not in ids:
                continue
            action = known[answer.instruction_id][1]
            outcome = outcome_for(action, answer.status)
            if outcome is None:
                if not self.lenient:
                    raise PropagationError(
                        _("%(status)s does not answer an instruction to %(action)s: use %(allowed)s.")
                        % {
                            "status": answer.status,
                            "action": Action(action).label,
                            "allowed": ", ".join(ANSWERS[action]),
                        },
                        code="outcome",
                    )
                continue  # answered below with its state unchanged
            confirmation = Confirmation(
                propagation_id=ids[answer.instruction_id],
                outcome=outcome,
                reason=answer.reason,
                evidence={**via, self.evidence_key: answer.evidence}
                if self.evidence_key
                else {**via, **answer.evidence},
                status=status,
            )
            try:
                confirmation.check()
            except PropagationError:
                if not self.lenient:
                    raise
                continue  # answered below with its state unchanged
            confirmations.append(confirmation)
        return confirmations, ids

    def contact(self, system: ProcessingSystem) -> None:
        """Record that the system called, at most once a minute (polling stays a read)."""
        now = timezone.now()
        if system.last_contact_at and now - system.last_contact_at < CONTACT_RESOLUTION:
            return
        ProcessingSystem.objects.filter(pk=system.pk).filter(
            Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=now - CONTACT_RESOLUTION)
        ).update(last_contact_at=now)


def states_after(ids: dict[str, int], confirmations: list[Confirmation], *, all_applied: bool) -> dict[str, str]:
    """The state of each instruction named (key to id), once `confirmations` were recorded.

    `all_applied`: every confirmation changed its instruction (none was terminal already).
    """
    if all_applied and len(confirmations) == len(ids) and all(c.outcome in TERMINAL for c in confirmations):
        # Every instruction named took the outcome its answer gave: that is its state now.
        key_of = {pk: key for key, pk in ids.items()}
        return {key_of[c.propagation_id]: c.outcome for c in confirmations}
    return dict(Propagation.objects.filter(pk__in=ids.values()).values_list("idempotency_key", "state"))
