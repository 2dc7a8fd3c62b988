"""Admin actions on thousands of propagations, as jobs with progress."""

import pytest
from django.urls import reverse

from dataops.deletions import bulk
from dataops.deletions.bulk import bulk_job_run
from dataops.deletions.models import BulkJob, Propagation
from dataops.deletions.opening import deletion_requests_open
from tests import factories

pytestmark = pytest.mark.django_db


def test_a_bulk_action_on_thousands_of_rows_runs_as_a_job_with_progress(
    dpo_client, entity, purpose, settings, monkeypatch
):

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
