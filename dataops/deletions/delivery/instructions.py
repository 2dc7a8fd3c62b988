"""An instruction as every channel sends it: thin, never a name, phone, image or template.

{"id": <idempotency key: the same on every retry and replay>,
 "cursor": <position in the pull feed; pull devices only>,
 "request": <the deletion's reference>,
 "subject_key": <the system's own key for the person>,
 "action": "delete" | "restrict" | "lift_restriction",
 "deadline": "YYYY-MM-DD"}
"""

from __future__ import annotations

from ..models import Propagation


def instruction(propagation: Propagation) -> dict[str, str | int]:
    """The instruction a propagation carries (its deletion request must be loaded or loadable)."""
    data: dict[str, str | int] = {
        "id": propagation.idempotency_key,
        "request": propagation.deletion_request.reference,
        "subject_key": propagation.subject_key,
        "action": propagation.deletion_request.action,
        "deadline": propagation.deadline.isoformat(),
    }
    if propagation.feed_seq is not None:
        data["cursor"] = propagation.feed_seq
    return data
