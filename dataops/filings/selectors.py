"""Reads of filings shared by several callers."""

from __future__ import annotations

from django.db.models import QuerySet

from ..registry.models import LegalEntity
from .models import Filing


def entities_filed() -> QuerySet[LegalEntity]:
    """Entities with at least one submitted filing: their registry is compared with it every day."""
    return LegalEntity.objects.filter(filings__state__in=[Filing.State.SUBMITTED, Filing.State.ACKNOWLEDGED]).distinct()
