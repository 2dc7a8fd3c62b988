"""Security notices: the person's own list, each notice's page, and the public announcements."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache

from dataops.incidents.models import IncidentNotice
from dataops.incidents.notices import notice_sections, notices_for

from ..acting import own_subject


def _language() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


@never_cache
@login_required
def my_notices(request):
    """The security notices that concern the signed-in person (or, as their guardian, their child)."""
    subject = own_subject(request)
    notices = notices_for(subject) if subject is not None else []
    language = _language()
    return render(
        request,
        "portal/notices.html",
        {"notices": [(notice, notice_sections(notice, language)) for notice in notices]},
    )


def notice_page(request, reference: str):
    """One notice, public: it holds no one's personal data. A drill's, or one not sent, does not exist here."""
    notice = (
        IncidentNotice.objects.filter(reference=reference, incident__is_drill=False)
        .filter(Q(state=IncidentNotice.State.SENDING) | Q(published_at__isnull=False))
        .select_related("incident__entity")
        .first()
    )
    if notice is None:
        raise Http404
    return render(request, "portal/notice.html", {"notice": notice, "sections": notice_sections(notice, _language())})


def announcements(request):
    """Notices published as public announcements, where telling each person was impracticable."""
    notices = (
        IncidentNotice.objects.filter(published_at__isnull=False, incident__is_drill=False)
        .select_related("incident__entity")
        .order_by("-published_at")
    )
    return render(request, "portal/announcements.html", {"notices": notices})
