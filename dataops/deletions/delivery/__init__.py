"""How deletion instructions reach each kind of processing system, and how the system answers.

Every integration mode is a `Channel` with the same small protocol, registered under the
mode's name (`ProcessingSystem.Integration`):

- `deliver(system, batch)`: carry a claimed batch of due instructions to the system
  (push: one signed POST; manual: an email per instruction with a single-use link;
  pull: nothing, since the device fetches its feed itself, so `batch_size` is 0);
  it returns True when it made other instructions due at once (a system back online);
- `confirm(system, answers, via=...)`: record what the system says it did with each
  instruction, with the evidence it gave and how it reached us;
- `contact(system)`: note that the system called us.

`system_deliver_due` is the one dispatch loop: it claims what is due for a system and
hands it to the system's channel, whatever the mode.
"""

from __future__ import annotations

from ...registry.models import ProcessingSystem
from ..models import Propagation
from ..propagations import propagations_claim
from .base import Answer, Channel, UnknownInstruction
from .manual import ManualChannel
from .pull import PullChannel
from .push import PushChannel

BATCHES_PER_TASK = 50

CHANNELS: dict[str, Channel] = {channel.mode: channel for channel in (PushChannel(), PullChannel(), ManualChannel())}


def channel_for(system: ProcessingSystem) -> Channel:
    """The channel of the system's integration mode."""
    return CHANNELS[system.integration]


def system_deliver_due(system_id: int, *, batches: int = BATCHES_PER_TASK) -> tuple[int, bool]:
    """Deliver what is due for one system, batch after batch; return how many, and whether more is due.

    Nothing is delivered to a system that fetches its own instructions, or whose
    deliveries the DPO paused (they wait, due). A draft system receives its
    connection test, which activates it, and nothing else yet.
    """
    system = ProcessingSystem.objects.filter(pk=system_id).first()
    if system is None:
        return 0, False
    channel = channel_for(system)
    if not channel.batch_size or system.deliveries_paused:
        return 0, False
    tests_only = system.status == ProcessingSystem.Status.DRAFT
    delivered = 0
    for _batch in range(batches):
        batch = propagations_claim(system=system, limit=channel.batch_size, tests_only=tests_only)
        if not batch:
            return delivered, False
        released = channel.deliver(system, batch)
        delivered += len(batch)
        if len(batch) < channel.batch_size and not released:
            # Less than a full batch was due: nothing is left (what others hold locked is theirs, or
            # briefly held by an escalation or a callback and due at the next sweep, within a minute;
            # what opens from now on comes with its own message), so no empty claim to find out.
            return delivered, False
    return delivered, True


def systems_deliver_due(system_ids: list[int], *, batches: int = BATCHES_PER_TASK) -> tuple[int, list[int]]:
    """Deliver what is due for several systems (a new deletion's); return how many, and the systems with more due.

    Each system's first batch is claimed, then each channel delivers its systems' batches
    together (push: the calls at once, the outcomes in one transaction), so one person's
    deletion to three systems is one round, not three. A system with more due (a full batch,
    or its backoff released by the answer) goes on as `system_deliver_due` would.
    """
    first: dict[str, list[tuple[ProcessingSystem, list[Propagation]]]] = {}
    for system in ProcessingSystem.objects.filter(pk__in=system_ids).order_by("pk"):
        channel = channel_for(system)
        if not channel.batch_size or system.deliveries_paused:
            continue
        tests_only = system.status == ProcessingSystem.Status.DRAFT
        batch = propagations_claim(system=system, limit=channel.batch_size, tests_only=tests_only)
        if batch:
            first.setdefault(system.integration, []).append((system, batch))
    delivered, more = 0, []
    failure: Exception | None = None
    for mode, claimed in first.items():
        channel = CHANNELS[mode]
        try:
            released = channel.deliver_many(claimed)
        except Exception as exc:  # noqa: BLE001 (raised below, once the other modes' claimed batches are delivered)
            failure = failure or exc
            continue
        for system, batch in claimed:
            delivered += len(batch)
            if len(batch) == channel.batch_size or system.pk in released:
                count, left = system_deliver_due(system.pk, batches=batches - 1)
                delivered += count
                if left:
                    more.append(system.pk)
    if failure is not None:
        raise failure
    return delivered, more


def systems_of_deletions(deletion_ids: list[int]) -> list[int]:
    """The systems the instructions of these deletions go to, by a channel that delivers."""
    modes = [mode for mode, channel in CHANNELS.items() if channel.batch_size]
    return sorted(
        Propagation.objects.filter(deletion_request_id__in=deletion_ids, system__integration__in=modes)
        .values_list("system_id", flat=True)
        .distinct()
    )


__all__ = [
    "CHANNELS",
    "Answer",
    "Channel",
    "UnknownInstruction",
    "channel_for",
    "system_deliver_due",
    "systems_deliver_due",
]
