"""Admin actions on thousands of propagations, as jobs with progress."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

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
    response = dpo_client.post(
        reverse("admin:dataops_propagation_changelist"), {"action": "escalate", "_selected_action": ids}
    )
    job = BulkJob.objects.get()
    assert response["Location"] == reverse("admin:dataops_bulkjob_change", args=[job.pk])
    assert "<progress" in dpo_client.get(response["Location"]).content.decode()
    bulk_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.done, job.total, job.percent) == ("done", 6, 6, 100)
    assert set(Propagation.objects.filter(pk__in=ids).values_list("state", flat=True)) == {"escalated"}


def _job(ids) -> BulkJob:
    return BulkJob.objects.create(operation="propagation.escalate", object_ids=ids, actor="t", total=len(ids))


def test_a_job_runs_once_however_many_messages_ask_and_is_taken_over_when_its_worker_died(subject, system):
    factories.holding(subject, system)
    deletion_requests_open(actor="t", subject_ids=[subject.pk], trigger="dpo_action")
    ids = list(Propagation.objects.filter(deletion_request__subject=subject).values_list("pk", flat=True))

    held = _job(ids)
    BulkJob.objects.filter(pk=held.pk).update(state="running", claimed_until=timezone.now() + dt.timedelta(minutes=5))
    assert bulk_job_run(job_id=held.pk).done == 0  # another worker holds it: a second message does nothing
    assert set(Propagation.objects.filter(pk__in=ids).values_list("state", flat=True)) != {"escalated"}

    BulkJob.objects.filter(pk=held.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    taken_over = bulk_job_run(job_id=held.pk)  # its worker died: the lease ran out
    assert (taken_over.state, taken_over.done) == ("done", len(ids))
    assert bulk_job_run(job_id=held.pk).done == len(ids)  # done is done
