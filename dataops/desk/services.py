"""The front desk's acts: find the person at the counter, check who they are without a face, act for them.

Each act is the person's, made through the desk: the request names the desk as its
channel and staff as who made it, the audit names the clerk. A clerk reaches only people
the clerk's legal entity holds facial data or consents of, and only the one person a
lookup found, for the length of a visit; every lookup is audited, found or not, and no
audit entry holds what the person presented.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from consent.models import ConsentRecord, DataSubject
from consent.services import Provenance, subject_create, subject_find, subject_identifiers, subject_name
from facerights import crypto
from facerights.audit import audit_record
from facerights.models import User
from facerights.roles import Role
from facerights.sms import sms_send

from ..deletions.intake import consent_withdrawal_submit, rights_request_submit
from ..deletions.models import DeletionRequest
from ..registry.models import Holding, LegalEntity, ProcessingSystem
from ..requests.models import Request
from ..requests.receipts import receipt_pdf
from ..requests.services import request_submit
from .models import DeskClerk, DeskVisit

CODE_MINUTES = 10
CODE_ATTEMPTS = 5


def _actor(clerk: DeskClerk) -> str:
    return f"user:{clerk.user_id}"


def clerk_for(user: User | AnonymousUser) -> DeskClerk | None:
    """The active desk clerk an account is, if any."""
    if not user.is_authenticated:
        return None
    return (
        DeskClerk.objects.filter(user=user, active=True, user__groups__name=Role.DESK)
        .select_related("entity", "site")
        .first()
    )


def entity_systems(clerk: DeskClerk) -> QuerySet[ProcessingSystem]:
    return ProcessingSystem.objects.filter(entity=clerk.entity)


def _known_here(clerk: DeskClerk) -> QuerySet[DataSubject]:
    """The people the clerk's legal entity holds facial data or consents of: the only ones a desk can reach."""
    systems = entity_systems(clerk)
    return DataSubject.objects.filter(
        Q(holdings__system__in=systems) | Q(consents__system__in=systems), shredded_at__isnull=True
    ).distinct()


def desk_find(
    *,
    clerk: DeskClerk,
    found_by: str,
    phone: str = "",
    system_key: str = "",
    name: str = "",
    date_of_birth: dt.date | None = None,
) -> DeskVisit:
    """Start a visit for the one person what they presented names; raise ValidationError otherwise (audited either way)."""
    known = _known_here(clerk)
    found: list[DataSubject] = []
    if found_by == DeskVisit.FoundBy.PHONE:
        person = subject_find(kind="phone", value=phone)
        found = [person] if person is not None and known.filter(pk=person.pk).exists() else []
    elif found_by == DeskVisit.FoundBy.SYSTEM_KEY:
        ids = Holding.objects.filter(system__in=entity_systems(clerk), subject_key=system_key.strip())
        found = list(known.filter(pk__in=ids.values("subject_id")))
    elif found_by == DeskVisit.FoundBy.NAME_BIRTH and date_of_birth is not None:
        wanted = "".join(name.split())
        found = [p for p in known.filter(date_of_birth=date_of_birth) if "".join(subject_name(p).split()) == wanted]
    with transaction.atomic():
        audit_record(
            actor=_actor(clerk),
            action="desk.lookup",
            target=clerk,
            data={"found_by": found_by, "found": len(found)},
        )
        if len(found) == 1:
            visit = DeskVisit.objects.create(clerk=clerk, subject=found[0], found_by=found_by)
            audit_record(actor=_actor(clerk), action="desk.visit_started", target=found[0], data={"visit": visit.pk})
            return visit
    # Recorded, and refused: nothing about who else might exist.
    if found:
        raise ValidationError(
            _("More than one person matches. Ask for their phone number or the card a system gave them.")
        )
    raise ValidationError(
        _("No one this company holds facial data of matches. Check what was typed, or try another way.")
    )


def visit_for(clerk: DeskClerk, visit_id: int, *, verified: bool = False) -> DeskVisit | None:
    """The clerk's own open visit (and identity checked, when asked); None for anyone else's or one that ended."""
    visit = DeskVisit.objects.filter(pk=visit_id, clerk=clerk).select_related("subject").first()
    if visit is None or not visit.is_open():
        return None
    if verified and visit.verified_at is None:
        return None
    return visit


def desk_identity_document(*, visit: DeskVisit, document_type: str, last4: str) -> DeskVisit:
    """The clerk saw an identity document: its type and last four characters are recorded, never a scan."""
    last4 = last4.strip().upper()
    errors = {}
    if document_type not in DeskVisit.Document.values:
        errors["document_type"] = _("Choose the document the person showed.")
    if len(last4) != 4 or not last4.isalnum():
        errors["last4"] = _("Type the last four characters of the document's number.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        visit.identity, visit.document_type, visit.document_last4 = DeskVisit.Identity.DOCUMENT, document_type, last4
        visit.verified_at = timezone.now()
        visit.save(update_fields=["identity", "document_type", "document_last4", "verified_at"])
        audit_record(
            actor=_actor(visit.clerk),
            action="desk.identity_checked",
            target=visit.subject,
            data={"visit": visit.pk, "method": "document", "document": document_type},
        )
    return visit


def _code_digest(visit: DeskVisit, code: str) -> str:
    return crypto.lookup_hash("desk_code", f"{visit.pk}:{code}")


def visit_phone(visit: DeskVisit) -> str | None:
    phones = [value for kind, value in subject_identifiers(visit.subject) if kind == "phone"]
    return phones[0] if phones else None


def desk_code_send(*, visit: DeskVisit) -> None:
    """Send a six-digit code to the phone on record (never to a number typed at the desk)."""
    phone = visit_phone(visit)
    if phone is None:
        raise ValidationError(_("No phone number is on record for this person: check an identity document instead."))
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        visit.code_hash, visit.code_sent_at, visit.code_attempts = _code_digest(visit, code), timezone.now(), 0
        visit.save(update_fields=["code_hash", "code_sent_at", "code_attempts"])
        audit_record(actor=_actor(visit.clerk), action="desk.code_sent", target=visit.subject, data={"visit": visit.pk})
    sms_send(phone, "desk_code", {"company": visit.clerk.entity.name_zh, "code": code})


def desk_code_check(*, visit: DeskVisit, code: str) -> DeskVisit:
    """Check the code the person reads out; five tries, ten minutes."""
    with transaction.atomic():
        visit = DeskVisit.objects.select_for_update().select_related("clerk", "subject").get(pk=visit.pk)
        if not visit.code_hash or visit.code_sent_at is None:
            raise ValidationError(_("Send a code first."))
        if visit.code_attempts >= CODE_ATTEMPTS or timezone.now() > visit.code_sent_at + dt.timedelta(
            minutes=CODE_MINUTES
        ):
            raise ValidationError(_("This code can no longer be used: send a new one."))
        if not hmac.compare_digest(visit.code_hash, _code_digest(visit, "".join(code.split()))):
            visit.code_attempts += 1
            visit.save(update_fields=["code_attempts"])
            ok = False
        else:
            visit.identity, visit.verified_at, visit.code_hash = DeskVisit.Identity.SMS_CODE, timezone.now(), ""
            visit.save(update_fields=["identity", "verified_at", "code_hash"])
            audit_record(
                actor=_actor(visit.clerk),
                action="desk.identity_checked",
                target=visit.subject,
                data={"visit": visit.pk, "method": "sms_code"},
            )
            ok = True
    if not ok:
        raise ValidationError(_("The code does not match."))
    return visit


def visit_consents(visit: DeskVisit) -> QuerySet[ConsentRecord]:
    """The person's current consents at the clerk's legal entity."""
    return (
        ConsentRecord.objects.filter(
            subject=visit.subject,
            system__entity=visit.clerk.entity,
            state__in=[ConsentRecord.State.ACTIVE, ConsentRecord.State.NEEDS_RECONSENT],
        )
        .select_related("system", "purpose")
        .order_by("system__name_zh", "purpose__code")
    )


def desk_withdraw(*, visit: DeskVisit, consent_id: int) -> DeletionRequest | None:
    """Withdraw one of the person's consents for them, and start deleting, in one step (R6)."""
    record = visit_consents(visit).filter(pk=consent_id).first()
    if record is None:
        raise ValidationError(_("This consent is not one of this person's here, or it has already ended."))
    with transaction.atomic():
        deletion = consent_withdrawal_submit(
            actor=_actor(visit.clerk),
            record=record,
            provenance=Provenance(channel=ConsentRecord.Channel.COUNTER),
            channel=Request.Channel.DESK,
            acted_by=Request.ActedBy.STAFF,
        )
        if deletion is not None and deletion.request_id:
            visit.requests.add(deletion.request_id)
    return deletion


def _assisted_check(type: str, system: ProcessingSystem | None, details: str, entity_id: int) -> None:
    if type not in Request.ASSISTED_TYPES:
        raise ValidationError({"type": _("Choose what the person asks for.")})
    if system is not None and system.entity_id != entity_id:
        raise ValidationError({"system": _("Choose one of this company's systems.")})
    if type == Request.Type.SWITCH_ALTERNATIVE and system is None:
        raise ValidationError({"system": _("Name the system the person wants to use without their face.")})
    if type in (Request.Type.CORRECTION, Request.Type.COMPLAINT) and not details.strip():
        raise ValidationError({"details": _("Write down what the person asks, in their words.")})


def desk_request(*, visit: DeskVisit, type: str, system: ProcessingSystem | None = None, details: str = "") -> Request:
    """Make a request for the person at the counter; a deletion or a switch starts deleting at once."""
    _assisted_check(type, system, details, visit.clerk.entity_id)
    with transaction.atomic():
        request = rights_request_submit(
            actor=_actor(visit.clerk),
            subject=visit.subject,
            type=type,
            system=system,
            details=details,
            channel=Request.Channel.DESK,
            acted_by=Request.ActedBy.STAFF,
            within=list(entity_systems(visit.clerk)),  # this company's systems, never another's
            entity=visit.clerk.entity,
        )
        visit.requests.add(request)
    return request


def desk_visit_end(*, visit: DeskVisit) -> None:
    """The person has left: the visit closes and nothing of theirs stays on the screen."""
    with transaction.atomic():
        DeskVisit.objects.filter(pk=visit.pk, ended_at__isnull=True).update(ended_at=timezone.now())
        audit_record(
            actor=_actor(visit.clerk), action="desk.visit_ended", target=visit.subject, data={"visit": visit.pk}
        )


def desk_receipt(*, visit: DeskVisit) -> bytes:
    """The visit's receipt (PDF), with a fresh lookup code for each request made in it."""
    return receipt_pdf(
        actor=_actor(visit.clerk),
        requests=list(visit.requests.select_related("system").order_by("received_at", "pk")),
        entity=visit.clerk.entity,
        site=visit.clerk.site,
        printed_on=timezone.localdate(),
    )


def assisted_request_record(
    *,
    actor: str,
    entity: LegalEntity,
    channel: str,
    received_at: dt.datetime,
    type: str,
    identity_checked: bool,
    phone: str = "",
    email: str = "",
    name: str = "",
    system: ProcessingSystem | None = None,
    details: str = "",
    now: dt.datetime | None = None,
) -> Request:
    """Record a request that arrived by phone or letter; its clock starts when it was received.

    The person is found by the phone or email they gave; someone not on record (a complaint
    from anyone) is recorded with their name and that contact, so they can be answered. A
    deletion, a switch or a restriction acts at once only when staff checked the caller's or
    writer's identity; otherwise it waits as a request until the DPO has.
    """
    now = now or timezone.now()
    errors: dict[str, str] = {}
    if channel not in (Request.Channel.PHONE, Request.Channel.LETTER):
        errors["channel"] = _("Choose how the request arrived.")
    if received_at > now + dt.timedelta(minutes=2):
        errors["received_at"] = _("It cannot have been received in the future: the legal clock starts there.")
    if not (phone.strip() or email.strip()):
        errors["phone"] = _("Give the phone number or email the person gave, to find them and to answer.")
    if errors:
        raise ValidationError(errors)
    _assisted_check(type, system, details, entity.pk)
    person = None
    for kind, value in (("phone", phone), ("email", email)):
        if value.strip():
            person = person or subject_find(kind=kind, value=value)
    with transaction.atomic():
        if person is None:
            if not name.strip():
                raise ValidationError({"name": _("No one is on record with this contact: give the person's name.")})
            identifiers = [
                (kind, value.strip()) for kind, value in (("phone", phone), ("email", email)) if value.strip()
            ]
            person = subject_create(actor=actor, name=name.strip(), identifiers=identifiers)
        acts = identity_checked and type in Request.ACTING_TYPES
        if acts:
            request = rights_request_submit(
                actor=actor,
                subject=person,
                type=type,
                system=system,
                details=details,
                channel=channel,
                acted_by=Request.ActedBy.STAFF,
                received_at=received_at,
                within=list(ProcessingSystem.objects.filter(entity=entity)),
                entity=entity,
            )
        else:
            request = request_submit(
                actor=actor,
                subject=person,
                type=type,
                system=system,
                details=details,
                channel=channel,
                acted_by=Request.ActedBy.STAFF,
                received_at=received_at,
                entity=entity,
            )
        audit_record(
            actor=actor,
            action="request.recorded_for_person",
            target=request,
            data={"channel": channel, "identity_checked": identity_checked, "acted": acts},
        )
    return request
