"""Reads of the registry and inventory shared by several callers."""

from __future__ import annotations

from itertools import groupby

from django.db.models import Prefetch, QuerySet

from consent.models import DataSubject, Notice

from .models import Holding, LegalEntity, ProcessingSystem


def systems_public() -> QuerySet[ProcessingSystem]:
    """Active systems, with what the public processing-rules pages show."""
    return (
        ProcessingSystem.objects.filter(status=ProcessingSystem.Status.ACTIVE)
        .select_related("entity", "site")
        .prefetch_related(
            "purposes",
            Prefetch("notices", queryset=Notice.objects.filter(status=Notice.Status.PUBLISHED).order_by("-version")),
        )
        .order_by("entity__name_zh", "site__name_zh", "name_zh")
    )


def entities_with_public_systems() -> list[tuple[LegalEntity, list[ProcessingSystem]]]:
    systems = list(systems_public())
    return [(entity, list(group)) for entity, group in groupby(systems, key=lambda system: system.entity)]


def holdings_for_subject(subject: DataSubject) -> QuerySet[Holding]:
    """Every live holding of a subject, with its system, site and consent: a fixed number of queries."""
    return (
        Holding.objects.filter(subject=subject)
        .exclude(status=Holding.Status.DELETED)
        .select_related("system__site", "system__entity", "consent__notice", "consent__purpose")
        .prefetch_related("system__purposes")
        .order_by("system__site__name_zh", "system__name_zh")
    )


def holdings_for_dashboard(subject: DataSubject) -> QuerySet[Holding]:
    """A subject's live holdings with their consents and the notices consented to, in one statement: the columns
    the dashboard shows, in its order (place, then system). The systems' own parts come from portal/registry_cache.py.
    """
    return (
        Holding.objects.filter(subject=subject)
        .exclude(status=Holding.Status.DELETED)
        .select_related("consent__notice")
        .only(
            "system_id",
            "data_kind",
            "retention_until",
            "status",
            "consent__state",
            "consent__given_at",
            "consent__channel",
            "consent__notice__version",
        )
        .order_by("system__site__name_zh", "system__name_zh", "pk")
    )


def system_actor_name(identifier: str, language: str) -> str:
    """A processing system as the actor of a record: its name in the language."""
    system = ProcessingSystem.objects.filter(pk=identifier).first() if identifier.isdigit() else None
    if system is None:
        return "处理系统" if language == "zh" else "a processing system"
    name = system.name_zh if language == "zh" else (system.name_en or system.name_zh)
    return f"{name}（处理系统）" if language == "zh" else f"{name} (processing system)"
