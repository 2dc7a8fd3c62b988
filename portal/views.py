from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from consent.services import notice_current
from dataops.selectors import entities_with_public_systems, holdings_for_subject, systems_public


def home(request):
    return render(request, "portal/home.html", {"entities": entities_with_public_systems()})


def processing_rules(request, system_id: int):
    system = systems_public().filter(pk=system_id).first()
    notice = notice_current(system) if system else None
    if notice is None:
        raise Http404
    lang = "zh" if request.LANGUAGE_CODE.startswith("zh") else "en"
    return render(
        request,
        "portal/processing_rules.html",
        {"system": system, "notice": notice, "text": notice.snapshot[lang]},
    )


@never_cache
@login_required
def dashboard(request):
    subject = getattr(request.user, "data_subject", None)
    holdings = list(holdings_for_subject(subject)) if subject else []
    return render(request, "portal/dashboard.html", {"subject": subject, "holdings": holdings})
