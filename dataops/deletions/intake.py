"""Where a person's act enters the ledger: a withdrawal, withdrawing everything, a rights request that deletes.

Each is one step for the person (R6): the consent ends, the request opens with its
legal clock, and the deletion opens for every system concerned, in one transaction.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from consent.models import ConsentRecord, DataSubject
from consent.services import Provenance, consent_withdraw, subject_unlink_user
from facerights.accounts import user_close
from facerights.audit import audit_batch
from facerights.models import User

from ..incidents.models import Incident
from ..registry.holdings import holdings_restrict
from ..registry.models import LegalEntity, ProcessingSystem
from ..requests.models import Request
from ..requests.services import request_complete, request_submit
from .models import DeletionRequest
from .opening import deletion_request_open, restriction_open


def consent_withdrawal_submit(
    *,
    actor: str,
    record: ConsentRecord,
    provenance: Provenance,
    channel: str = Request.Channel.PORTAL,
    acted_by: str = Request.ActedBy.SUBJECT,
) -> DeletionRequest | None:
    """Withdraw a consent and open the deletion it calls for (PIPL Art 47(3)), in one step (R6).

    At a front desk the act is still the person's: `acted_by` says staff made it for them.
    """
    with transaction.atomic(), audit_batch():  # the withdrawal's, request's and deletion's events: one write
        already = record.state == ConsentRecord.State.WITHDRAWN
        consent_withdraw(actor=actor, record=record, provenance=provenance)
        if already:
            return (
                DeletionRequest.objects.filter(subject_id=record.subject_id, propagations__system_id=record.system_id)
                .order_by("-created_at")
                .first()
            )
        request = request_submit(
            actor=actor,
            subject=record.subject,
            type=Request.Type.WITHDRAWAL,
            system=record.system,
            channel=channel,
            acted_by=acted_by,
        )
        return deletion_request_open(
            actor=actor,
            subject=record.subject,
            trigger=DeletionRequest.Trigger.CONSENT_WITHDRAWN,
            systems=[record.system],
            request=request,
        )


def consents_withdraw_all(*, actor: str, subject: DataSubject, provenance: Provenance) -> DeletionRequest | None:
    """Withdraw every current consent of a subject and delete from every system they concerned, as one request."""
    with transaction.atomic():
        records = list(
            ConsentRecord.objects.select_for_update().filter(
                subject=subject, state__in=[ConsentRecord.State.ACTIVE, ConsentRecord.State.NEEDS_RECONSENT]
            )
        )
        if not records:
            return None
        for record in records:
            consent_withdraw(actor=actor, record=record, provenance=provenance)
        request = request_submit(actor=actor, subject=subject, type=Request.Type.WITHDRAWAL)
        systems = list(ProcessingSystem.objects.filter(pk__in={r.system_id for r in records}))
        return deletion_request_open(
            actor=actor,
            subject=subject,
            trigger=DeletionRequest.Trigger.CONSENT_WITHDRAWN,
            systems=systems,
            request=request,
        )


def _provenance(channel: str) -> Provenance:
    """How a consent's end reached us, in the consent ledger's terms."""
    if channel == Request.Channel.PORTAL:
        return Provenance(channel=ConsentRecord.Channel.PORTAL)
    return Provenance(channel=ConsentRecord.Channel.COUNTER)


def rights_request_submit(
    *,
    actor: str,
    subject: DataSubject,
    type: str,
    system: ProcessingSystem | None = None,
    details: str = "",
    incident: Incident | None = None,
    channel: str = Request.Channel.PORTAL,
    acted_by: str = Request.ActedBy.SUBJECT,
    received_at: dt.datetime | None = None,
    within: list[ProcessingSystem] | None = None,
    entity: LegalEntity | None = None,
    acting_subject: DataSubject | None = None,
) -> Request:
    """A person's request (portal, desk, phone, letter); a deletion or a switch to a non-face method starts deleting at once.

    `within` bounds a deletion that names no system to those systems (a desk acts for one legal entity).
    """
    with transaction.atomic(), audit_batch():  # the request's and the deletion's events: one write
        request = request_submit(
            actor=actor,
            subject=subject,
            type=type,
            system=system,
            details=details,
            incident=incident,
            channel=channel,
            acted_by=acted_by,
            received_at=received_at,
            entity=entity,
            acting_subject=acting_subject,
        )
        systems = [system] if system else within
        if type == Request.Type.DELETION:
            deletion_request_open(
                actor=actor,
                subject=subject,
                trigger=DeletionRequest.Trigger.SUBJECT_REQUEST,
                systems=systems,
                request=request,
            )
        elif type == Request.Type.SWITCH_ALTERNATIVE and system is not None:
            # Measures Art 10: the person keeps the service through the system's non-face
            # method; their consent ends and the facial data there is deleted.
            for record in ConsentRecord.objects.filter(
                subject=subject, system=system, state=ConsentRecord.State.ACTIVE
            ):
                consent_withdraw(actor=actor, record=record, provenance=_provenance(channel))
            deletion_request_open(
                actor=actor,
                subject=subject,
                trigger=DeletionRequest.Trigger.SWITCH_ALTERNATIVE,
                systems=systems,
                request=request,
            )
        elif type in (Request.Type.RESTRICTION, Request.Type.RESTRICTION_LIFT):
            # PIPL Art 44: effective at once in the consent check ("restricted"); each system that
            # receives restriction instructions is sent one, and the request completes once all confirm.
            held_in = systems or list(ProcessingSystem.objects.filter(holdings__subject=subject).distinct())
            restricting = type == Request.Type.RESTRICTION
            changed = holdings_restrict(actor=actor, subject=subject, systems=held_in, restricted=restricting)
            sent = restriction_open(
                actor=actor, subject=subject, request=request, holdings=changed, lift=not restricting
            )
            if sent is None:
                request_complete(actor=actor, request=request)
    return request


def account_close(*, user: User, subject: DataSubject, delete_everything: bool, provenance: Provenance) -> Request:
    """Close the person's portal account (PIPL Art 47), deleting their facial data everywhere or keeping it.

    Deleting everything withdraws every consent and deletes every holding in one deletion;
    once it completes, the person's identifiers are shredded as after any deletion (no account
    is left to keep them). Keeping holdings keeps the consents and the person's records (a
    desk can still find them to withdraw later); only the login and its identifiers go.
    """
    actor = f"user:{user.pk}"
    with transaction.atomic():
        request = request_submit(
            actor=actor,
            subject=subject,
            type=Request.Type.ACCOUNT_CLOSURE,
            details="delete everything" if delete_everything else "keep my consents and data",
        )
        deletion = None
        if delete_everything:
            for record in ConsentRecord.objects.select_for_update().filter(
                subject=subject, state__in=[ConsentRecord.State.ACTIVE, ConsentRecord.State.NEEDS_RECONSENT]
            ):
                consent_withdraw(actor=actor, record=record, provenance=provenance)
            deletion = deletion_request_open(
                actor=actor, subject=subject, trigger=DeletionRequest.Trigger.SUBJECT_REQUEST, request=request
            )
        subject_unlink_user(actor=actor, subject=subject)
        user_close(actor=actor, user=user)
        if deletion is None:
            request_complete(actor=actor, request=request)  # nothing left to wait for: the account is closed
    return request
