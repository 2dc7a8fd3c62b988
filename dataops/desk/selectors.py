"""What others read of the desks: where a person can go in person."""

from __future__ import annotations

from ..registry.models import Site
from .models import DeskClerk


def desk_sites_by_entity() -> dict[int, list[Site]]:
    """Each legal entity's sites with an active front desk, by entity id (for the contact and rules pages)."""
    sites: dict[int, list[Site]] = {}
    for clerk in (
        DeskClerk.objects.filter(active=True, site__isnull=False).select_related("site").order_by("site__name_zh")
    ):
        found = sites.setdefault(clerk.entity_id, [])
        if clerk.site is not None and clerk.site not in found:
            found.append(clerk.site)
    return sites
