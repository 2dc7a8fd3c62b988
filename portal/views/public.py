from django.shortcuts import render

from dataops.models import LegalEntity


def children_rules(request):
    """The special rules for children under 14 (Measures Art 7, PIPL Art 31), public."""
    return render(request, "portal/children_rules.html")


def contact(request):
    """How to reach each handler's data-protection officer, and where to complain (R29), public."""
    return render(request, "portal/contact.html", {"entities": LegalEntity.objects.order_by("name_zh")})
