"""What the dashboard shows of a processing system, kept in Django's cache (issue 20).

A system's name, its operator's and place's names, where it stores faces, its purposes and
why it keeps data that long change rarely, and are the same for every person the system
holds. The dashboard reads them from the cache instead of joining four tables and
prefetching purposes per request.

Never stale: every entry's key carries the registry's version, and any save or delete
of a system, site, legal entity or purpose, or a change of a system's purposes, replaces
the version (at once, and again when the transaction commits, so that no request that read
the old rows in between can have cached them under the new version). The version lives in
the same cache (Redis when deployed: shared by every web process), so a change made in any
process is seen by all of them; an entry under an old version is never read again and
expires. A version missing from the cache (evicted) is replaced by a new random one, never
an old one. Writes that bypass save() (QuerySet.update) touch only columns not shown here
(feed counters, contact times): portal/tests/test_dashboard_costs.py shows a change at once.
"""

from __future__ import annotations

import uuid
from typing import Any, TypedDict

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save

from consent.models import Purpose
from dataops.registry.models import LegalEntity, ProcessingSystem, Site

VERSION_KEY = "portal:registry:version"
TIMEOUT = 24 * 60 * 60  # a day: unused versions' entries go away by themselves


class Names(TypedDict):
    zh: str
    en: str


class SystemShown(TypedDict):
    id: int
    name: Names
    entity_id: int
    entity: Names
    site_id: int | None
    site: Names | None
    storage_location: str
    purposes: list[Names]
    retention_reason: Names


def _names(obj: Any, field: str = "name") -> Names:
    return {"zh": getattr(obj, f"{field}_zh"), "en": getattr(obj, f"{field}_en")}


def _shown(system: ProcessingSystem) -> SystemShown:
    return {
        "id": system.pk,
        "name": _names(system),
        "entity_id": system.entity_id,
        "entity": _names(system.entity),
        "site_id": system.site_id,
        "site": _names(system.site) if system.site is not None else None,
        "storage_location": system.storage_location,
        "purposes": [_names(purpose) for purpose in system.purposes.all()],
        "retention_reason": _names(system, "retention_justification"),
    }


def registry_version() -> str:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, None)
        version = cache.get(VERSION_KEY)
    return version


def registry_changed() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def systems_shown(system_ids: set[int]) -> dict[int, SystemShown]:
    """What the dashboard shows of each of these systems: from the cache, the missing ones from the database."""
    if not system_ids:
        return {}
    version = registry_version()
    keys = {f"portal:registry:{version}:system:{pk}": pk for pk in system_ids}
    found: dict[int, SystemShown] = {keys[key]: value for key, value in cache.get_many(list(keys)).items()}
    missing = system_ids - found.keys()
    if missing:
        loaded = {
            system.pk: _shown(system)
            for system in ProcessingSystem.objects.filter(pk__in=missing)
            .select_related("entity", "site")
            .prefetch_related("purposes")
        }
        cache.set_many({f"portal:registry:{version}:system:{pk}": value for pk, value in loaded.items()}, TIMEOUT)
        found.update(loaded)
    return found


def _changed(sender, **kwargs) -> None:
    registry_changed()
    transaction.on_commit(registry_changed, robust=True)


def _purposes_changed(sender, action: str, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        _changed(sender)


def connect() -> None:
    for model in (ProcessingSystem, Site, LegalEntity, Purpose):
        post_save.connect(_changed, sender=model, dispatch_uid=f"portal.registry_cache.save.{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"portal.registry_cache.delete.{model.__name__}")
    m2m_changed.connect(
        _purposes_changed, sender=ProcessingSystem.purposes.through, dispatch_uid="portal.registry_cache.purposes"
    )
