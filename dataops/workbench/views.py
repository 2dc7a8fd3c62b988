"""The operator's endpoints outside the admin: Prometheus metrics."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from .metrics import metrics_render


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format, for a scraper that sends `Authorization: Bearer <METRICS_TOKEN>`.

    Off (404) until METRICS_TOKEN is set. The figures name systems and
    entities, never a person, but they are still the company's business.
    """
    if not settings.METRICS_TOKEN:
        raise Http404
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), settings.METRICS_TOKEN.encode()):
        response = HttpResponse("A bearer token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(metrics_render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
