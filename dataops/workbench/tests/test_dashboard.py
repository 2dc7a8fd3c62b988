"""The DPO's dashboard on the admin index."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from dataops.deletions.intake import rights_request_submit
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.propagations import propagation_confirm, propagation_escalate
from dataops.filings.counting import person_counts_take
from dataops.filings.models import FilingObligation
from dataops.registry.services import system_save
from facerights.present import date_text
from facerights.workdays import year_is_covered
from tests import factories

pytestmark = pytest.mark.django_db


def test_the_dashboard_shows_counts_health_and_what_is_late(dpo_client, entity, system, subject):
    factories.holding(subject, system)
    person_counts_take()
    page = dpo_client.get(reverse("admin:index")).content.decode()
    assert 'role="img"' in page and "100000" in page  # the chart, with the filing threshold
    today = timezone.localdate()
    # The chart's table: one person stored today (the connection test's synthetic subject is not counted).
    assert f"<tr><td>{entity.name_zh}</td><td>1</td><td>{date_text(today)}</td></tr>" in page
    health = page[page.index('id="table-health"') : page.index('id="table-processes"')]
    row = health[health.index(system.name_zh) :]
    assert row.index("<td>正常</td>") < row.index("</tr>")  # the system's row, and its state in words


def test_a_system_awaiting_reassessment_is_not_shown_as_healthy(dpo_client, system):
    system_save(actor="dpo", system=system, purposes=[*system.purposes.all(), factories.purpose()])
    page = dpo_client.get(reverse("admin:index")).content.decode()
    health = page[page.index('id="table-health"') : page.index('id="table-processes"')]
    row = health[health.index(system.name_zh) :]
    row = row[: row.index("</tr>")]
    assert "需重新评估" in row and "正常" not in row
    assert "需重新评估：1" in health
    listing = dpo_client.get(reverse("admin:dataops_processingsystem_changelist")).content.decode()
    assert "需重新评估（不再录入新人员）" in listing


def test_the_dashboard_lists_every_open_duty_with_its_due_date(dpo_client, entity):

    FilingObligation.objects.create(
        entity=entity,
        kind="pipo_report",
        triggered_on=dt.date(2026, 1, 20),
        due_on=dt.date(2026, 3, 9),
        due_earliest=dt.date(2026, 3, 9),
    )
    FilingObligation.objects.create(
        entity=entity,
        kind="initial",
        triggered_on=dt.date(2026, 1, 2),
        due_on=dt.date(2026, 2, 1),
        due_earliest=dt.date(2026, 2, 1),
        fulfilled_at=timezone.now(),
    )
    FilingObligation.objects.create(
        entity=entity,
        kind="cancellation",
        triggered_on=dt.date(2026, 12, 2),
        due_on=dt.date(2027, 1, 14),
        due_earliest=dt.date(2027, 1, 10),
        due_on_provisional=True,
    )
    page = dpo_client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "officer report to the city cyberspace administration" in page and "due 9 March 2026" in page
    assert "due 1 February 2026" not in page  # done
    assert "due 14 January 2027 (provisional: no earlier than 10 January 2027)" in page


def test_the_dashboard_warns_when_next_year_has_no_holidays(dpo_client):
    page = dpo_client.get(reverse("admin:index")).content.decode()
    next_year = timezone.localdate().year + 1

    assert (str(next_year) in page) == (not year_is_covered(next_year))


def _between(page: str, start: str, end: str) -> str:
    return page[page.index(start) : page.index(end)]


def test_the_charts_draw_real_requests_and_deletions_with_a_legend(dpo_client, entity, system, subject, other_subject):
    factories.holding(subject, system)
    person_counts_take()
    for person in (subject, other_subject):
        rights_request_submit(actor="t", subject=person, type="copy")
    deletion = rights_request_submit(actor="t", subject=subject, type="deletion").deletion_requests.get()
    propagation_confirm(actor="t", propagation=deletion.propagations.get(), outcome="deleted", evidence={"n": 1})
    page = dpo_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
    today = date_text(timezone.localdate(), "en")

    persons = _between(page, 'id="chart-persons"', 'id="chart-requests"')
    assert f"{entity.name_zh} (latest: 1)" in persons and "filing threshold 100000" in persons  # the legend
    requests = _between(page, 'id="chart-requests"', 'id="chart-deletions"')
    assert requests.count('class="bar"') == 12  # twelve weeks, empty ones too
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    assert f"<title>{date_text(monday, 'en')}: 3</title>" in requests  # two copies and a deletion this week
    deletions = _between(page, 'id="chart-deletions"', 'id="table-weekly"')
    assert deletions.count('class="bar"') == 30
    assert f"<title>{today}: 1</title>" in deletions  # the connection test's synthetic deletion is not counted
    weekly = _between(page, 'id="table-weekly"', 'id="table-health"')
    assert "<td>a copy of my data</td>" in weekly and "<td>copy</td>" not in weekly  # labels, not codes


def test_escalated_deletions_come_first_on_every_database(dpo_client, entity, system, subject, other_subject):
    factories.holding(subject, system)
    factories.holding(other_subject, system)
    calm = deletion_request_open(actor="t", subject=subject, trigger="subject_request")
    late = deletion_request_open(actor="t", subject=other_subject, trigger="subject_request")
    propagation_escalate(actor="t", propagation=late.propagations.get(), reason="past_deadline")
    page = dpo_client.get(reverse("admin:dataops_propagation_changelist")).content.decode()
    assert page.index(late.reference) < page.index(calm.reference)
