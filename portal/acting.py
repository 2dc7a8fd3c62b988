"""Whose data a signed-in person is acting on: their own, or a child's they are the verified guardian of."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import get_object_or_404

from consent.models import ConsentRecord, DataSubject, DeceasedRepresentation, Guardianship


def own_subject(request) -> DataSubject | None:
    return getattr(request.user, "data_subject", None)


def acting_subject(request, ward_uuid=None) -> DataSubject:
    """The subject to act on, or 404: nobody learns whether another person's records exist."""
    own = own_subject(request)
    if own is None:
        raise Http404
    if ward_uuid is None:
        return own
    guardianship = (
        Guardianship.objects.filter(
            ward__uuid=ward_uuid, guardian=own, verified_at__isnull=False, ended_at__isnull=True
        )
        .select_related("ward")
        .first()
    )
    if guardianship is None:
        raise Http404
    return guardianship.ward


def wards_of(subject: DataSubject | None) -> list[DataSubject]:
    if subject is None:
        return []
    return [
        g.ward for g in subject.wards.filter(verified_at__isnull=False, ended_at__isnull=True).select_related("ward")
    ]


def represented_by(subject: DataSubject | None) -> list[DataSubject]:
    """The deceased people this person was approved to act for (PIPL Art 49)."""
    if subject is None:
        return []
    return [
        claim.deceased
        for claim in subject.representations.filter(state=DeceasedRepresentation.State.APPROVED).select_related(
            "deceased"
        )
        if claim.deceased is not None
    ]


def deceased_subject(request, deceased_uuid) -> DataSubject:
    """A deceased person the signed-in relative was approved to act for, or 404."""
    for person in represented_by(own_subject(request)):
        if str(person.uuid) == str(deceased_uuid):
            return person
    raise Http404


def subjects_in_reach(request) -> list[DataSubject]:
    """The signed-in person's own subject, the children they are the verified guardian of, and the
    deceased people they were approved to act for."""
    own = own_subject(request)
    return [own, *wards_of(own), *represented_by(own)] if own else []


def consent_in_reach(request, consent_id: int) -> ConsentRecord:
    """A consent of someone the signed-in person may act for; 404 for any other (the same as a missing one)."""
    return get_object_or_404(
        ConsentRecord.objects.select_related("system", "purpose"),
        pk=consent_id,
        subject__in=subjects_in_reach(request),
    )
