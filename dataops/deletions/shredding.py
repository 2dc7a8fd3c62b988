"""Forgetting who people were once FaceRights holds nothing more about them (crypto-shredding)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from consent.models import DataSubject
from consent.services import subject_shred

from ..registry.models import Holding
from ..requests.models import Request
from .models import DeletionRequest
from .opening import LIVE_HOLDING

SHRED_AFTER = dt.timedelta(days=1)


def subjects_shred_due(*, actor: str, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Destroy the identifiers of people FaceRights no longer holds anything about.

    Once a subject has no live holding, no open request and no account, and
    their last deletion completed a day ago (time for the completion notice to
    reach them), their identifiers and name are crypto-shredded; the keyed
    hashes stay as tombstones so a restore from backup can replay the deletion.
    Requests, propagations and their evidence are kept (R25).
    """
    now = now or timezone.now()
    candidates = (
        DataSubject.objects.filter(
            shredded_at__isnull=True, user__isnull=True, is_synthetic=False, deletion_requests__isnull=False
        )
        .exclude(holdings__status__in=LIVE_HOLDING + (Holding.Status.DELETION_PENDING,))
        .exclude(requests__state__in=Request.OPEN_STATES)
        .exclude(deletion_requests__state=DeletionRequest.State.OPEN)
        .exclude(deletion_requests__completed_at__gt=now - SHRED_AFTER)
        .distinct()[:limit]
    )
    count = 0
    for subject in candidates:
        subject_shred(actor=actor, subject=subject)
        count += 1
    return count
