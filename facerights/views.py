from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from .readiness import readiness


@never_cache
def healthz(request):
    """The process answers (nothing else is checked: see /readyz for that)."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
def readyz(request):
    """200 when the database, the broker and the schema are ready; 503 and what is not, otherwise."""
    checks = readiness()
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse({"ready": ready, "checks": checks}, status=200 if ready else 503)
