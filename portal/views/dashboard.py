"""The person's dashboard: every system that holds their face (or their ward's), and what is under way (issue 3).

It is the portal's most visited page, so it is built cheaply (issue 20): the signed-in user
comes back with their records and the roles the header asks about in one statement; the
holdings with their consents and notices in one; what the page shows of each system
(names, purposes, storage, retention reason) from the registry cache, which can never be
stale (portal/registry_cache.py); no statement per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q, Window
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache

from consent.services import subject_name
from dataops.incidents.notices import notices_count_for
from dataops.models import DeletionRequest, Request
from dataops.registry.models import Holding, ProcessingSystem
from dataops.registry.selectors import holdings_for_dashboard

from ..acting import acting_subject, own_subject, wards_of
from ..registry_cache import Names, SystemShown, systems_shown

STORAGE = dict(ProcessingSystem.Storage.choices)


@dataclass(frozen=True)
class SystemText:
    """A system as the page shows it, in the page's language (Chinese where there is no English)."""

    name: str
    entity: str
    storage: str
    purposes: str
    retention_reason: str


@dataclass(frozen=True)
class Row:
    holding: Holding
    system: SystemText


@dataclass(frozen=True)
class Place:
    has_site: bool
    name: str
    rows: list[Row]


def _pick(names: Names, chinese: bool) -> str:
    return names["zh"] if chinese else (names["en"] or names["zh"])


def _system_text(shown: SystemShown, chinese: bool) -> SystemText:
    code = shown["storage_location"]
    return SystemText(
        name=_pick(shown["name"], chinese),
        entity=_pick(shown["entity"], chinese),
        storage=str(STORAGE.get(code, code)),
        purposes=", ".join(_pick(purpose, chinese) for purpose in shown["purposes"]),
        retention_reason=_pick(shown["retention_reason"], chinese),
    )


def _places(holdings: list[Holding], shown: dict[int, SystemShown]) -> list[Place]:
    """The holdings by place, in their order (place name, then system name): one section per run of one place."""
    chinese = (get_language() or "").startswith("zh")
    texts = {pk: _system_text(system, chinese) for pk, system in shown.items()}
    places = []
    for site_id, group in groupby(holdings, key=lambda h: shown[h.system_id]["site_id"]):
        rows = [Row(holding, texts[holding.system_id]) for holding in group]
        site = shown[rows[0].holding.system_id]["site"]
        places.append(Place(site_id is not None, _pick(site, chinese) if site else "", rows))
    return places


def _signed_in_again(request):
    """The signed-in user with their own records and the roles the page's header asks about: one statement, not three."""
    request.user = (
        get_user_model()
        .objects.select_related("data_subject", "regulator_account", "desk_clerk")
        .get(pk=request.user.pk)
    )


@never_cache
@login_required
def dashboard(request, ward_uuid=None):
    _signed_in_again(request)
    if ward_uuid is None and own_subject(request) is None:
        return render(request, "portal/dashboard.html", {"subject": None})
    subject = acting_subject(request, ward_uuid)
    holdings = list(holdings_for_dashboard(subject))
    shown = systems_shown({h.system_id for h in holdings})
    deletions = list(
        subject.deletion_requests.filter(action=DeletionRequest.Action.DELETE)
        # how many are open, of all of them (counted before the 20 are taken): no second statement
        .annotate(open_count=Window(Count("pk", filter=Q(state=DeletionRequest.State.OPEN))))
        .order_by("-created_at")[:20]
    )
    return render(
        request,
        "portal/dashboard.html",
        {
            # The summary first: how many systems hold the face, at how many places, what is under way.
            "summary": {
                "systems": len({h.system_id for h in holdings}),
                "places": len(
                    {shown[h.system_id]["site_id"] or f"entity:{shown[h.system_id]['entity_id']}" for h in holdings}
                ),
                "deleting": deletions[0].open_count if deletions else 0,
            },
            "subject": subject,
            "ward": ward_uuid is not None,
            "ward_uuid": ward_uuid,
            "ward_name": subject_name(subject) if ward_uuid is not None else "",
            "wards": [(child, subject_name(child)) for child in wards_of(subject)] if ward_uuid is None else [],
            "holdings": holdings,
            "places": _places(holdings, shown),
            "deletions": deletions,
            "open_requests": list(subject.requests.filter(state__in=Request.OPEN_STATES).order_by("due_on")[:20]),
            "security_notices": notices_count_for(subject) if ward_uuid is None else 0,
        },
    )
