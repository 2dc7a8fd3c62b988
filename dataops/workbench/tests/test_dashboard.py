"""The DPO's dashboard on the admin index."""

import pytest
from django.urls import reverse
from django.utils import timezone

from dataops.filings.counting import person_counts_take
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo_client(client):
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    return client


def test_the_dashboard_shows_counts_health_and_what_is_late(dpo_client, entity, system, subject):
    factories.holding(subject, system)
    person_counts_take()
    page = dpo_client.get(reverse("admin:index")).content.decode()
    assert 'role="img"' in page and "100000" in page  # the chart, with the filing threshold
    assert entity.name_zh in page and system.name_zh in page  # its table and the health table
    assert "<table" in page


def test_the_dashboard_lists_every_open_duty_with_its_due_date(dpo_client, entity):
    import datetime as dt

    from dataops.models import FilingObligation

    FilingObligation.objects.create(
        entity=entity, kind="pipo_report", triggered_on=dt.date(2026, 1, 20), due_on=dt.date(2026, 3, 9)
    )
    FilingObligation.objects.create(
        entity=entity,
        kind="initial",
        triggered_on=dt.date(2026, 1, 2),
        due_on=dt.date(2026, 2, 1),
        fulfilled_at=timezone.now(),
    )
    page = dpo_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "officer report to the city cyberspace administration" in page and "due 2026-03-09" in page
    assert "due 2026-02-01" not in page  # done


def test_the_dashboard_warns_when_next_year_has_no_holidays(dpo_client):
    page = dpo_client.get(reverse("admin:index")).content.decode()
    next_year = timezone.localdate().year + 1
    from facerights.workdays import year_is_covered

    assert (str(next_year) in page) == (not year_is_covered(next_year))
