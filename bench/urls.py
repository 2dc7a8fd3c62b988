"""The project's URLs plus a baseline for bench/pull_feed.py: never part of production URLs (bench/settings.py)."""

from django.http import Http404, JsonResponse
from django.urls import include, path

from dataops.models import ProcessingSystem


def baseline(request, system_id: int):
    """A minimal Django view doing one indexed read: a processing system by primary key, as JSON."""
    row = ProcessingSystem.objects.filter(pk=system_id).values("id", "feed_seq", "last_contact_at").first()
    if row is None:
        raise Http404
    return JsonResponse(row)


urlpatterns = [
    path("bench/baseline/<int:system_id>", baseline),
    path("", include("facerights.urls")),
]
