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
    propagation_accepted,
    propagation_fail,
    propagation_retry_later,
    propagations_recovered,
)
from ..states import ANSWERS
from . import http
from .base import Answer, Channel
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
        body = json.dumps(
            {"type": "deletion", "instructions": [instruction(p) for p in batch]}, separators=(",", ":")
        ).encode()
        msg_id = message_id(batch)
        try:
            secrets_ = webhook_secrets(system)
            if not secrets_:
                raise http.DeliveryError("the system has no webhook secret", permanent=True)
            response = http.post(
                system.webhook_url, body, sign_headers(secrets_, msg_id, body), allow_internal=system.is_internal
            )
        except http.DeliveryError as exc:
            _log_call(system, batch, msg_id, "permanent failure" if exc.permanent else "will retry")
            for p in batch:
                if exc.permanent:
                    propagation_fail(actor=ACTOR, propagation=p, error=str(exc))
                else:
                    propagation_retry_later(actor=ACTOR, propagation=p, error=str(exc))
            return False
        status = response.status
        if status == 429 or status >= 500:
            _log_call(system, batch, msg_id, "will retry", status)
            for p in batch:
                propagation_retry_later(
                    actor=ACTOR,
                    propagation=p,
                    error=f"HTTP {status}",
                    status=status,
                    retry_after=_retry_after(response.headers),
                )
            return False
        if not 200 <= status < 300:
            _log_call(system, batch, msg_id, "refused", status)
            for p in batch:
                propagation_fail(
                    actor=ACTOR,
                    propagation=p,
                    error=f"HTTP {status}: the system refused the instruction",
                    status=status,
                )
            return False
        results = _results(response.body)
        answers = [
            Answer(
                instruction_id=p.idempotency_key,
                status=str(results[p.idempotency_key].get("status")),
                reason=str(results[p.idempotency_key].get("reason") or ""),
                evidence=_checked(results[p.idempotency_key].get("evidence") or {}),
            )
            for p in batch
            if p.idempotency_key in results
        ]
        via = {
            "channel": "push",
            "webhook_id": msg_id,
            "http_status": status,
            "received_at": timezone.now().isoformat(),
            "response_sha256": hashlib.sha256(response.body).hexdigest(),
        }
        states = self.confirm(system, answers, via=via, status=status, actor=ACTOR, batch=batch)
        waiting = [p for p in batch if states.get(p.idempotency_key) not in Propagation.TERMINAL]
        confirmed = len(batch) - len(waiting)
        _log_call(system, batch, msg_id, f"{confirmed} confirmed, {len(waiting)} to follow", status)
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
