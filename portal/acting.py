"""Whose data a signed-in person is acting on: their own, or a child's they are the verified guardian of."""

from __future__ import annotations

from django.http import Http404

from consent.models import DataSubject, Guardianship


def own_subject(request) -> DataSubject | None:
    return getattr(request.user, "data_subject", None)


def acting_subject(request, ward_uuid=None) -> DataSubject:
    """The subject to act on, or 404: nobody learns whether another person's records exist."""
    own = own_subject(request)
    if own is None:
        raise Http404
    if ward_uuid is None:
        return own
    ward = DataSubject.objects.filter(uuid=ward_uuid).first()
    if (
        ward is None
        or not Guardianship.objects.filter(
            ward=ward, guardian=own, verified_at__isnull=False, ended_at__isnull=True
        ).exists()
    ):
        raise Http404
    return ward


def wards_of(subject: DataSubject | None) -> list[DataSubject]:
    if subject is None:
        return []
    return [
        g.ward for g in subject.wards.filter(verified_at__isnull=False, ended_at__isnull=True).select_related("ward")
    ]


def subjects_in_reach(request) -> list[DataSubject]:
    """The signed-in person's own subject and the children they are the verified guardian of."""
    own = own_subject(request)
    return [own, *wards_of(own)] if own else []
