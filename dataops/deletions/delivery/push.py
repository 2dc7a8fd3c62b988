"""Push: deletions POSTed to a system's webhook, signed as Standard Webhooks says.

Body (thin: never a name, phone, image or template):

    {"type": "deletion",
     "instructions": [{"id": <idempotency key>, "request": <reference>,
                       "subject_key": <the system's key>,
                       "action": "delete" | "restrict" | "lift_restriction",
                       "deadline": "YYYY-MM-DD"}, ...]}

A 2xx answer confirms per instruction:

    {"results": [{"id": ..., "status": "deleted" | "not_found" | "held" | "accepted"
                                       (a restriction: "restricted" | "not_found" | "accepted";
                                        its lifting: "lifted" | "not_found" | "accepted"),
                  "reason": "...", "evidence": {...}}]}

"accepted" (or no result for an instruction) means a signed callback will
confirm later. Timeouts, 429 and 5xx are retried; any other status escalates
to a person and never counts as done. docs/integration.md is the vendor's guide.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from facerights.uploads import evidence_check

from ...registry.credentials import webhook_secrets
from ...registry.models import ProcessingSystem
from ..models import CallbackReceipt, Propagation
from ..opening import trace_ids
from ..propagations import (
    Confirmation,
    PropagationError,
    propagation_accepted,
    propagation_fail,
    propagation_retry_later,
    propagations_confirm,
    propagations_recovered,
)
from ..states import ANSWERS
from . import http
from .base import Answer, Channel, states_after
from .instructions import instruction
from .signing import TOLERANCE_SECONDS, SignatureError, sign_headers, verify

ACTOR = "task:push"

__all__ = ["PushChannel", "SignatureError"]
logger = logging.getLogger(__name__)


def _log_call(
    system: ProcessingSystem, batch: list[Propagation], msg_id: str, outcome: str, status: int | None = None
) -> None:
    """One line per call: which deletions it carried (by reference and request id), never whose."""
    logger.info(
        "push to system %s: %d instructions, %s",
        system.pk,
        len(batch),
        outcome,
        extra={
            "system": system.pk,
            "message_id": msg_id,
            "http_status": status,
            "outcome": outcome,
            "deletions": sorted({p.deletion_request.reference for p in batch})[:50],
            "request_ids": trace_ids({p.deletion_request for p in batch}),
        },
    )


def message_id(batch: list[Propagation]) -> str:
    """The same id for the same instructions, so a retried delivery is recognisable."""
    if len(batch) == 1:
        return batch[0].idempotency_key
    joined = ",".join(sorted(p.idempotency_key for p in batch))
    return "batch_" + hashlib.sha256(joined.encode()).hexdigest()[:32]


def _retry_after(headers: dict[str, str]) -> int | None:
    """Retry-After in seconds, given as seconds or as an HTTP date (RFC 9110); None when absent or unreadable."""
    value = {k.lower(): v for k, v in headers.items()}.get("retry-after", "").strip()
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, int((when - timezone.now()).total_seconds()))


class PushChannel(Channel):
    """Signed webhooks: a batch in one POST, outcomes in the answer or in a signed callback later."""

    mode = ProcessingSystem.Integration.PUSH
    batch_size = 100  # docs/integration.md: "a delivery carries at most 100 instructions"
    lenient = True  # one unusable result in a batch answer must not lose the others

    def deliver(self, system: ProcessingSystem, batch: list[Propagation]) -> bool:
        """Send one claimed batch and record each instruction's outcome.

        Returns True when the system, answering, got what waited in backoff due again at once.
        """
        return system.pk in self.deliver_many([(system, batch)])

    def deliver_many(self, batches: list[tuple[ProcessingSystem, list[Propagation]]]) -> set[int]:
        """Send each system its batch, all at once, then record every outcome; the systems whose backoff it released.

        The calls go out together (one thread each, no database in them), so a person's
        deletion reaches its systems in the time of the slowest, not of all in turn. The
        confirmations they bring are recorded in one transaction: the instructions, their
        evidence and audit events, and the deletions they complete.
        """
        calls = [self._prepare(system, batch) for system, batch in batches]
        sending = [call for call in calls if call.error is None]
        if len(sending) > 1:
            with ThreadPoolExecutor(max_workers=min(8, len(sending)), thread_name_prefix="push") as pool:
                list(pool.map(_send, sending))
        elif sending:
            _send(sending[0])
        return self._record(calls)

    @staticmethod
    def _prepare(system: ProcessingSystem, batch: list[Propagation]) -> Call:
        """The signed call for one batch (reads the system's secrets: before any thread starts)."""
        body = json.dumps(
            {"type": "deletion", "instructions": [instruction(p) for p in batch]}, separators=(",", ":")
        ).encode()
        call = Call(system=system, batch=batch, msg_id=message_id(batch), body=body)
        secrets_ = webhook_secrets(system)
        if secrets_:
            call.headers = sign_headers(secrets_, call.msg_id, body)
        else:
            call.error = http.DeliveryError("the system has no webhook secret", permanent=True)
        return call

    def _record(self, calls: list[Call]) -> set[int]:
        answered: list[tuple[Call, dict[str, dict[str, Any]], list[Confirmation], dict[str, int]]] = []
        for call in calls:
            if _failed(call):
                continue
            assert call.response is not None  # a call that did not fail has its answer
            results = _results(call.response.body)
            answers = [
                Answer(
                    instruction_id=p.idempotency_key,
                    status=str(results[p.idempotency_key].get("status")),
                    reason=str(results[p.idempotency_key].get("reason") or ""),
                    evidence=_checked(results[p.idempotency_key].get("evidence") or {}),
                )
                for p in call.batch
                if p.idempotency_key in results
            ]
            via = {
                "channel": "push",
                "webhook_id": call.msg_id,
                "http_status": call.response.status,
                "received_at": call.received_at.isoformat() if call.received_at else timezone.now().isoformat(),
                "response_sha256": hashlib.sha256(call.response.body).hexdigest(),
            }
            confirmations, ids = self.confirmations(
                call.system, answers, via=via, status=call.response.status, batch=call.batch
            )
            answered.append((call, results, confirmations, ids))
        if not answered:
            return set()
        groups = [confirmations for _call, _results, confirmations, _ids in answered]
        applied, failure = _confirmed_together(groups)
        released = set()
        for (call, results, confirmations, ids), all_applied in zip(answered, applied, strict=True):
            if all_applied is None:
                continue  # not recorded: its instructions stay claimed and are sent again once the lease ends
            if _waiting_recorded(call, results, states_after(ids, confirmations, all_applied=all_applied)):
                released.add(call.system.pk)
        if failure is not None:
            raise failure
        return released

    def callback(
        self, system: ProcessingSystem, *, headers: Mapping[str, str], body: bytes, answers: list[Answer]
    ) -> dict[str, str]:
        """A signed callback confirming instructions later; raises SignatureError unless a live secret signed it,
        and Replayed if this message was received already."""
        msg_id = verify(webhook_secrets(system), headers, body)
        self.contact(system)
        with transaction.atomic():  # a callback refused on its content is not remembered: its retry may succeed
            callback_receive(system, msg_id)
            return self.confirm(system, answers, via={"channel": "callback", "webhook_id": msg_id})


@dataclass
class Call:
    """One delivery to one system: the signed request, and its answer or why there is none."""

    system: ProcessingSystem
    batch: list[Propagation]
    msg_id: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    response: http.Response | None = None
    received_at: dt.datetime | None = None  # when the answer came back, for its evidence
    error: http.DeliveryError | None = None


def _send(call: Call) -> None:
    """POST the call (no database: it may run in a thread of its own)."""
    try:
        call.response = http.post(
            call.system.webhook_url, call.body, call.headers, allow_internal=call.system.is_internal
        )
        call.received_at = timezone.now()
    except http.DeliveryError as exc:
        call.error = exc
    except Exception as exc:  # noqa: BLE001 (an address urllib cannot use, say: this system's failure alone)
        call.error = http.DeliveryError(f"{type(exc).__name__}: {exc}"[:250])


def _failed(call: Call) -> bool:
    """Record a call that brought no answer to use (failed, refused, or to retry); True if it was one."""
    system, batch, msg_id = call.system, call.batch, call.msg_id
    if call.error is not None:
        exc = call.error
        _log_call(system, batch, msg_id, "permanent failure" if exc.permanent else "will retry")
        for p in batch:
            if exc.permanent:
                propagation_fail(actor=ACTOR, propagation=p, error=str(exc))
            else:
                propagation_retry_later(actor=ACTOR, propagation=p, error=str(exc))
        return True
    assert call.response is not None  # sent without an error: it has an answer
    status = call.response.status
    if status == 429 or status >= 500:
        _log_call(system, batch, msg_id, "will retry", status)
        for p in batch:
            propagation_retry_later(
                actor=ACTOR,
                propagation=p,
                error=f"HTTP {status}",
                status=status,
                retry_after=_retry_after(call.response.headers),
            )
        return True
    if not 200 <= status < 300:
        _log_call(system, batch, msg_id, "refused", status)
        for p in batch:
            propagation_fail(
                actor=ACTOR,
                propagation=p,
                error=f"HTTP {status}: the system refused the instruction",
                status=status,
            )
        return True
    return False


def _confirmed_together(groups: list[list[Confirmation]]) -> tuple[list[bool | None], PropagationError | None]:
    """Record the systems' confirmations in one transaction; for each system, whether all of its applied.

    If one system's cannot be recorded (a processor's deletion without its certificate), each
    system's are recorded on its own instead, so the others' are not lost with it: that system
    gets None, and the error is returned to be raised once the others are recorded.
    """
    every = [c for group in groups for c in group]
    try:
        together = propagations_confirm(actor=ACTOR, confirmations=every) == len(every)
    except PropagationError:
        if len(groups) == 1:
            raise
    else:
        return [together] * len(groups), None
    applied: list[bool | None] = []
    failure = None
    for group in groups:
        try:
            applied.append(propagations_confirm(actor=ACTOR, confirmations=group) == len(group))
        except PropagationError as exc:
            applied.append(None)
            failure = failure or exc
    return applied, failure


def _waiting_recorded(call: Call, results: dict[str, dict[str, Any]], states: dict[str, str]) -> bool:
    """After the confirmations: record the instructions still waiting; True if the system's backoff was released."""
    system, batch = call.system, call.batch
    status = call.response.status if call.response is not None else None
    waiting = [p for p in batch if states.get(p.idempotency_key) not in Propagation.TERMINAL]
    confirmed = len(batch) - len(waiting)
    _log_call(system, batch, call.msg_id, f"{confirmed} confirmed, {len(waiting)} to follow", status)
    released = bool(confirmed and propagations_recovered(system=system))
    for p in waiting:
        answered = str((results.get(p.idempotency_key) or {}).get("status") or "")
        if answered and answered not in (*ANSWERS[p.deletion_request.action], "accepted"):
            # A status the guide does not define ("done", say), or one that answers another action
            # ("deleted" to a restriction), is not a confirmation, and not silence either: the DPO
            # sees it on the instruction, and it is sent again later.
            propagation_retry_later(
                actor=ACTOR,
                propagation=p,
                error=f"the system answered an unknown status {answered[:40]!r}: use "
                + ", ".join(ANSWERS[p.deletion_request.action])
                + " or accepted",
                status=status,
            )
            continue
        # "accepted", no result, or an unusable one (held without a reason): not a
        # confirmation. Wait for a callback, then ask again with the same id.
        propagation_accepted(actor=ACTOR, propagation=p, status=status)
    return released


class Replayed(Exception):
    """A signed callback received already: nothing is done again."""


# A signature is accepted five minutes either side of its time: an id is remembered for both.
RECEIPT_KEPT = dt.timedelta(seconds=2 * TOLERANCE_SECONDS + 60)


def callback_receive(system: ProcessingSystem, message_id: str) -> None:
    """Remember a callback's id for as long as its signature could be accepted; refuse a repeat."""
    now = timezone.now()
    CallbackReceipt.objects.filter(received_at__lt=now - RECEIPT_KEPT).delete()  # forget what can no longer replay
    try:
        with transaction.atomic():
            CallbackReceipt.objects.create(system=system, message_id=message_id[:128])
    except IntegrityError:
        raise Replayed(message_id) from None


def _checked(evidence: object) -> dict[str, Any]:
    """The system's evidence, if it passes the API's checks; else only why it was not kept.

    The outcome still counts: a deletion is not undone because its evidence was too
    big. But a file or a face template sent as "evidence" is never stored.
    """
    if not isinstance(evidence, dict):
        return {"not_kept": "evidence_shape"}
    try:
        return evidence_check(evidence)
    except ValidationError as exc:
        return {"not_kept": exc.code}


def _results(body: bytes) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(body or b"{}")
        return {str(item["id"]): item for item in data.get("results", []) if isinstance(item, dict) and "id" in item}
    except (ValueError, TypeError, AttributeError, KeyError):
        return {}
