"""Reads of the consent app shared by several callers."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Notice


def notices_published() -> QuerySet[Notice]:
    return Notice.objects.filter(status=Notice.Status.PUBLISHED)
