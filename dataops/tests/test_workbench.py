"""The DPO's workbench: the request queue, the dashboard, evidence exports."""

import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from dataops.filings.counting import person_counts_take, stored_persons
from dataops.models import EvidenceExport, PersonCount, Request
from dataops.requests.services import request_submit
from dataops.workbench.records import record_export_build, record_export_request
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo_client(client):
    factories.staff_login(client, factories.user_with_role("dpo", is_staff=True))
    return client


def test_the_queue_puts_open_and_overdue_first_with_working_days_left(dpo_client, subject):
    late = request_submit(actor="t", subject=subject, type="access", received_at=timezone.now() - dt.timedelta(days=40))
    Request.objects.filter(pk=late.pk).update(due_on=timezone.localdate() - dt.timedelta(days=3))
    done = request_submit(actor="t", subject=subject, type="copy", received_at=timezone.now() - dt.timedelta(days=60))
    Request.objects.filter(pk=done.pk).update(state="completed", due_on=timezone.localdate() - dt.timedelta(days=30))
    fresh = request_submit(actor="t", subject=subject, type="deletion")
    page = dpo_client.get(reverse("admin:dataops_request_changelist")).content.decode()
    assert page.index(late.reference) < page.index(fresh.reference) < page.index(done.reference)
    assert "overdue by" in page or "逾期" in page
    overdue_only = dpo_client.get(reverse("admin:dataops_request_changelist") + "?overdue=yes").content.decode()
    assert late.reference in overdue_only and fresh.reference not in overdue_only
    assert str(subject.uuid) not in page  # the person is masked


def test_a_person_held_by_five_systems_counts_once_and_deletions_drop_out(entity, purpose):
    from dataops.deletions.opening import deletion_request_open
    from dataops.deletions.propagations import propagation_confirm

    systems = [factories.active_system(entity=entity, purpose=purpose) for _ in range(5)]
    people = [factories.subject(phone=f"1340000{n:04d}") for n in range(3)]
    for person in people:
        for system in systems:
            factories.holding(person, system)
    assert stored_persons(entity) == 3
    deletion = deletion_request_open(actor="t", subject=people[0], trigger="subject_request")
    for p in deletion.propagations.all():
        propagation_confirm(actor="t", propagation=p, outcome="deleted", evidence={"n": p.pk})
    assert stored_persons(entity) == 2
    [count] = [c for c in person_counts_take() if c.entity == entity]
    assert count.persons == 2
    person_counts_take()
    assert PersonCount.objects.filter(entity=entity).count() == 1  # once a day


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


def test_an_evidence_export_is_a_csv_without_personal_data(dpo_client, subject, system):
    factories.holding(subject, system)
    request_submit(actor="t", subject=subject, type="access")
    today = timezone.localdate()
    user = dpo_client.session["_auth_user_id"]
    from django.contrib.auth import get_user_model

    export = record_export_request(
        actor="t", user=get_user_model().objects.get(pk=user), kind="requests", date_from=today, date_to=today
    )
    record_export_build(export_id=export.pk)
    response = dpo_client.get(reverse("admin:dataops_evidenceexport_download", args=[export.pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["reference", "type", "state"] and len(rows) == 2
    assert "13800138000" not in response.content.decode("utf-8-sig") and "王小明" not in response.content.decode(
        "utf-8-sig"
    )
    assert EvidenceExport.objects.get(pk=export.pk).rows == 1


def test_an_evidence_export_is_only_for_who_asked(client, dpo_client, subject):
    from django.contrib.auth import get_user_model

    owner = get_user_model().objects.get(pk=dpo_client.session["_auth_user_id"])
    today = timezone.localdate()
    export = record_export_request(actor="t", user=owner, kind="audit", date_from=today, date_to=today)
    record_export_build(export_id=export.pk)
    factories.staff_login(dpo_client, factories.user_with_role("auditor", is_staff=True))
    assert dpo_client.get(reverse("admin:dataops_evidenceexport_download", args=[export.pk])).status_code == 404


def test_a_bulk_action_on_thousands_of_rows_runs_as_a_job_with_progress(
    dpo_client, entity, purpose, settings, monkeypatch
):
    from dataops.deletions import bulk
    from dataops.deletions.bulk import bulk_job_run
    from dataops.deletions.opening import deletion_requests_open
    from dataops.models import BulkJob, Propagation

    system = factories.active_system(entity=entity, purpose=purpose)
    people = [factories.subject(phone=f"1320000{n:04d}") for n in range(6)]
    for person in people:
        factories.holding(person, system)
    deletion_requests_open(actor="t", subject_ids=[p.pk for p in people], trigger="dpo_action")
    ids = list(Propagation.objects.filter(deletion_request__subject__in=people).values_list("pk", flat=True))
    monkeypatch.setattr(bulk, "INLINE_LIMIT", 3)  # "thousands", scaled down
    monkeypatch.setattr(bulk, "CHUNK", 2)
    try:
        response = dpo_client.post(
            reverse("admin:dataops_propagation_changelist"), {"action": "escalate", "_selected_action": ids}
        )
        job = BulkJob.objects.get()
        assert response["Location"] == reverse("admin:dataops_bulkjob_change", args=[job.pk])
        assert "<progress" in dpo_client.get(response["Location"]).content.decode()
        bulk_job_run(job_id=job.pk)
    finally:
        bulk.INLINE_LIMIT, bulk.CHUNK = 200, 100
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.percent) == ("done", 6, 6, 100)
    assert set(Propagation.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"escalated"}


def test_searching_by_reference_or_key_finds_exactly_that(dpo_client, subject, system):
    holding = factories.holding(subject, system, key="EXACT-KEY-1")
    item = request_submit(actor="t", subject=subject, type="access")
    page = dpo_client.get(reverse("admin:dataops_request_changelist") + f"?q={item.reference.lower()}").content.decode()
    assert item.reference in page
    page = dpo_client.get(reverse("admin:dataops_holding_changelist") + "?q=EXACT-KEY-1").content.decode()
    assert f"/admin/dataops/holding/{holding.pk}/" in page
    page = dpo_client.get(reverse("admin:dataops_holding_changelist") + "?q=EXACT-KEY").content.decode()
    assert f"/admin/dataops/holding/{holding.pk}/" not in page
