from django.http import HttpResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request):
    """The process answers (nothing else is checked: see /readyz for that)."""
    return HttpResponse("ok", content_type="text/plain")
