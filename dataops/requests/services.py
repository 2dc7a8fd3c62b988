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
from facerights.queues import enqueue_on_commit
from facerights.services import TransitionError

from ..registry.models import ProcessingSystem
from .clocks import request_due_date
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
) -> Request:
    """Open a request with its legal clock; it is acknowledged by a task after commit."""
    received_at = received_at or timezone.now()
    if acted_by != Request.ActedBy.SUBJECT and acted_by != Request.ActedBy.STAFF and acting_subject is None:
        raise ValidationError(_("A request made for someone else names who made it."), code="acting_subject")
    with transaction.atomic():
        due_on, provisional = request_due_date(timezone.localdate(received_at), type)
        request = Request.objects.create(
            subject=subject,
            type=type,
            acted_by=acted_by,
            acting_subject=acting_subject,
            system=system,
            received_at=received_at,
            due_on=due_on,
            due_on_provisional=provisional,
        )
        if details.strip():
            request.details_ciphertext = crypto.secret_encrypt(details.strip(), aad=details_aad(request))
            request.save(update_fields=["details_ciphertext"])
        audit_record(
            actor=actor,
            action="request.received",
            target=request,
            data={"type": type, "due_on": due_on.isoformat(), "acted_by": acted_by},
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
    """Move the due date later, with a reason the person is told; at most 30 more calendar days."""
    if not reason.strip():
        raise ValidationError(_("Tell the person why the request needs more time."), code="reason")
    with transaction.atomic():
        request = _request_locked(request)
        if request.state not in Request.OPEN_STATES:
            raise TransitionError(_("Only an open request can be extended."), code="closed")
        if not request.due_on < until <= request.due_on + dt.timedelta(days=30):
            raise ValidationError(
                _("The new date must be later than the current one, by at most 30 days."), code="date"
            )
        request.extended_to = until
        request.due_on = until
        request.extension_reason = reason.strip()[:255]
        request.save(update_fields=["extended_to", "due_on", "extension_reason"])
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
    with transaction.atomic():
        requests = list(
            Request.objects.select_for_update().filter(pk__in=request_ids, state__in=Request.OPEN_STATES).order_by("pk")
        )
        if not requests:
            return 0
        now = timezone.now()
        Request.objects.filter(pk__in=[r.pk for r in requests]).update(state=Request.State.COMPLETED, closed_at=now)
        audit_record_many(actor=actor, entries=[Entry(action="request.completed", target=r) for r in requests])
    return len(requests)
