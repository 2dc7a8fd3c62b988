from django.http import JsonResponse
from django.shortcuts import render

from dataops.desk.selectors import desk_sites_by_entity
from dataops.models import LegalEntity
from facerights import ratelimit, signing

from ..forms import VerifyForm


def privacy(request):
    """What the portal itself collects, why, how long, and the person's rights over it (PIPL Arts 17, 44-50), public."""
    return render(request, "portal/privacy.html", {"entities": LegalEntity.objects.order_by("name_zh")})


def children_rules(request):
    """The special rules for children under 14 (Measures Art 7, PIPL Art 31), public."""
    return render(request, "portal/children_rules.html")


def contact(request):
    """Every way to reach each handler, from the registry: the portal, its desks, phone, letter, the form (R29)."""
    desks = desk_sites_by_entity()
    rows = [{"entity": entity, "desks": desks.get(entity.pk, [])} for entity in LegalEntity.objects.order_by("name_zh")]
    return render(request, "portal/contact.html", {"rows": rows})


VERIFY_LIMIT = 30  # checks per address per 10 minutes: plenty for a person, little for a guesser


def verify(request):
    """Check who issued a filing document, a deletion certificate, an incident report or a consent receipt; public."""
    result = None
    form = VerifyForm(request.POST or None)
    if request.method == "POST":
        if not ratelimit.allow("verify", ratelimit.client_address(request), limit=VERIFY_LIMIT, window_seconds=600):
            return render(request, "portal/verify.html", {"form": form, "limited": True}, status=429)
        if form.is_valid():
            result = {"verified": signing.verify(form.cleaned_data["fingerprint"], form.cleaned_data["signature"])}
    return render(request, "portal/verify.html", {"form": form, "result": result, "keys": signing.published_keys()})


def verify_keys(request):
    """The deployment's public signing keys, current and retired, for checking signatures offline."""
    return JsonResponse({"keys": signing.published_keys(), "message": "facerights-v1:<kind>:<fingerprint>"})
