"""State changes of rights requests: received, acknowledged, refused, extended, completed.

Every function is keyword-only, runs in one transaction, writes its audit
event in that transaction and is safe to call twice. The person is told of
each step by a task sent after commit.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import DataSubject
from facerights import crypto
from facerights.audit import Entry, audit_record, audit_record_many
from facerights.due import Due
from facerights.queues import enqueue_on_commit
from facerights.services import TransitionError

from ..incidents.models import Incident
from ..registry.models import LegalEntity, ProcessingSystem
from .clocks import request_alert_on, request_ceiling, request_due, request_response_days
from .models import Request


def request_submit(
    *,
    actor: str,
    subject: DataSubject,
    type: str,
    acted_by: str = Request.ActedBy.SUBJECT,
    acting_subject: DataSubject | None = None,
    system: ProcessingSystem | None = None,
    received_at: dt.datetime | None = None,
    details: str = "",
    incident: Incident | None = None,
    channel: str = Request.Channel.PORTAL,
    entity: LegalEntity | None = None,
) -> Request:
    """Open a request with its legal clock; it is acknowledged by a task after commit.

    `received_at` is when it reached the company (a letter's arrival, a call), the clock's start.
    """
    received_at = received_at or timezone.now()
    if acted_by != Request.ActedBy.SUBJECT and acted_by != Request.ActedBy.STAFF and acting_subject is None:
        raise ValidationError(_("A request made for someone else names who made it."), code="acting_subject")
    # No savepoint: nothing here is meant to fail and be carried on from; a failure fails the caller's change.
    with transaction.atomic(savepoint=False):
        working_days = request_response_days(type)
        due = request_due(timezone.localdate(received_at), working_days)
        request = Request(
            subject=subject,
            type=type,
            acted_by=acted_by,
            acting_subject=acting_subject,
            system=system,
            received_at=received_at,
            response_working_days=working_days,
            incident=incident,
            channel=channel,
            entity=entity or (system.entity if system is not None else None),
        )
        request.due_set(due)
        request.save()
        if details.strip():
            request.details_ciphertext = crypto.secret_encrypt(details.strip(), aad=details_aad(request))
            request.save(update_fields=["details_ciphertext"])
        audit_record(
            actor=actor,
            action="request.received",
            target=request,
            data={
                "type": type,
                "due_on": due.on.isoformat(),
                "due_earliest": due.earliest.isoformat(),
                "provisional": due.provisional,
                "acted_by": acted_by,
                "channel": channel,
            },
        )
        enqueue_on_commit("requests.acknowledge", request.pk)
    return request


def details_aad(request: Request) -> bytes:
    return f"facerights:request-details:{request.reference}".encode()


def request_details(request: Request) -> str:
    """What the person wrote with the request, decrypted for them or for the DPO."""
    if not request.details_ciphertext:
        return ""
    return crypto.secret_decrypt(request.details_ciphertext, aad=details_aad(request))


def request_acknowledge(*, request_id: int, actor: str = "system") -> Request | None:
    """Record, and tell the person, that the request was received (safe to repeat)."""
    with transaction.atomic():
        request = Request.objects.select_for_update().filter(pk=request_id).first()
        if request is None or request.acknowledged_at is not None:
            return request
        request.acknowledged_at = timezone.now()
        request.save(update_fields=["acknowledged_at"])
        audit_record(actor=actor, action="request.acknowledged", target=request)
        enqueue_on_commit("requests.notify", request.pk, "received")
    return request


def _request_locked(request: Request) -> Request:
    return Request.objects.select_for_update().get(pk=request.pk)


def request_refuse(*, actor: str, request: Request, reason_code: str, text: str) -> Request:
    """Refuse a request; the person sees the reason and where to complain (PIPL Art 50, R18)."""
    valid_codes = {code for code, _label in Request._meta.get_field("refusal_reason_code").choices or ()}
    if reason_code not in valid_codes or not text.strip():
        raise ValidationError(_("A refusal needs a reason code and an explanation the person can read."), code="reason")
    with transaction.atomic():
        request = _request_locked(request)
        if request.state == Request.State.REFUSED:
            return request
        if request.state not in Request.OPEN_STATES:
            raise TransitionError(_("Only an open request can be refused."), code="closed")
        request.state = Request.State.REFUSED
        request.refusal_reason_code = reason_code
        request.refusal_text = text.strip()
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "refusal_reason_code", "refusal_text", "closed_at"])
        audit_record(actor=actor, action="request.refused", target=request, data={"reason_code": reason_code})
        enqueue_on_commit("requests.notify", request.pk, "refused")
    return request


def request_extend(*, actor: str, request: Request, until: dt.date, reason: str) -> Request:
    """Move the due date later once, with a reason the person is told; never past the ceiling.

    The ceiling is 30 calendar days after receipt by default (FACERIGHTS_RESPONSE_MAX_CALENDAR_DAYS).
    A second extension is refused: the person was told one date, and then one more.
    """
    if not reason.strip():
        raise ValidationError(_("Tell the person why the request needs more time."), code="reason")
    with transaction.atomic():
        request = _request_locked(request)
        if request.state not in Request.OPEN_STATES:
            raise TransitionError(_("Only an open request can be extended."), code="closed")
        if request.extended_to is not None:
            raise TransitionError(
                _("This request was already extended once, to %(date)s: it cannot be extended again.")
                % {"date": request.extended_to.isoformat()},
                code="extended",
            )
        ceiling = request_ceiling(timezone.localdate(request.received_at))
        if not request.due_on < until <= ceiling:
            raise ValidationError(
                _("The new date must be later than the current one and no later than %(ceiling)s.")
                % {"ceiling": ceiling.isoformat()},
                code="date",
            )
        request.extended_to = until
        request.due_set(Due.firm(until))
        request.extension_reason = reason.strip()[:255]
        request.save(update_fields=["extended_to", "due_on", "due_earliest", "due_on_provisional", "extension_reason"])
        audit_record(actor=actor, action="request.extended", target=request, data={"until": until.isoformat()})
        enqueue_on_commit("requests.notify", request.pk, "extended")
    return request


def request_complete(*, actor: str, request: Request) -> Request:
    with transaction.atomic():
        request = _request_locked(request)
        if request.state == Request.State.COMPLETED:
            return request
        if request.state not in Request.OPEN_STATES:
            raise TransitionError(_("Only an open request can be completed."), code="closed")
        request.state = Request.State.COMPLETED
        request.closed_at = timezone.now()
        request.save(update_fields=["state", "closed_at"])
        audit_record(actor=actor, action="request.completed", target=request)
        enqueue_on_commit("requests.notify", request.pk, "completed")
    return request


def requests_complete_done(*, actor: str, request_ids: list[int]) -> int:
    """Complete the open requests whose work is done (their deletions completed), in the caller's transaction.

    The person is told by the deletion's own completion message, so no request
    message is sent here. Returns how many were completed.
    """
    with transaction.atomic(savepoint=False):
        requests = list(
            Request.objects.select_for_update().filter(pk__in=request_ids, state__in=Request.OPEN_STATES).order_by("pk")
        )
        if not requests:
            return 0
        now = timezone.now()
        Request.objects.filter(pk__in=[r.pk for r in requests]).update(state=Request.State.COMPLETED, closed_at=now)
        audit_record_many(actor=actor, entries=[Entry(action="request.completed", target=r) for r in requests])
    return len(requests)


def requests_alert_two_thirds(*, actor: str, today: dt.date | None = None) -> list[Request]:
    """Alert the DPO, once, about each open request that has used two thirds of its time (R17).

    Two thirds of 15 working days is 10, counted the safe way (the earliest that day can
    be). An extended request was alerted about already, or is counted from its new date.
    """
    today = today or timezone.localdate()
    alerted = []
    candidates = Request.objects.filter(state__in=Request.OPEN_STATES, dpo_alerted_at__isnull=True).select_related(
        "system__entity"
    )
    for request in candidates.iterator(chunk_size=500):
        working_days = request.response_working_days or request_response_days(request.type)
        if today < request_alert_on(timezone.localdate(request.received_at), working_days):
            continue
        with transaction.atomic():
            if not Request.objects.filter(pk=request.pk, dpo_alerted_at__isnull=True).update(
                dpo_alerted_at=timezone.now()
            ):
                continue  # another run alerted it
            audit_record(actor=actor, action="request.dpo_alerted", target=request)
            enqueue_on_commit("requests.alert_dpo", request.pk)
        alerted.append(request)
    return alerted
