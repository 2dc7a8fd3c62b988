"""Admin actions on many rows: done at once for a few, by a Celery job with progress for thousands."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from facerights.audit import actor_for
from facerights.queues import enqueue_on_commit

from ..requests.models import Request
from ..requests.services import request_complete
from .models import BulkJob, Propagation
from .propagations import propagation_escalate, propagation_retry_now

INLINE_LIMIT = 200
CHUNK = 100
LEASE = dt.timedelta(minutes=10)  # renewed after every chunk


# The model of the rows, and what to do with one: (row, actor, params).
Operation = tuple[type[Propagation] | type[Request], Callable[[Any, str, dict[str, Any]], object]]


def _operations() -> dict[str, Operation]:
    return {
        "propagation.retry_now": (
            Propagation,
            lambda obj, actor, params: propagation_retry_now(actor=actor, propagation=obj),
        ),
        "propagation.escalate": (
            Propagation,
            lambda obj, actor, params: propagation_escalate(actor=actor, propagation=obj, reason="dpo_action"),
        ),
        "request.complete": (Request, lambda obj, actor, params: request_complete(actor=actor, request=obj)),
    }


def bulk_or_inline(modeladmin, request, queryset, operation: str, params: dict | None = None):
    """Apply an operation now to a few rows; queue a BulkJob for more, and show its progress."""
    model, run = _operations()[operation]
    actor = actor_for(request.user)
    ids = list(queryset.values_list("pk", flat=True)[:100_000])
    if len(ids) <= INLINE_LIMIT:
        done = 0
        for obj in model.objects.filter(pk__in=ids):
            try:
                run(obj, actor, params or {})
                done += 1
            except ValidationError as exc:
                modeladmin.message_user(request, f"{obj}: {' '.join(exc.messages)}", messages.ERROR)
        modeladmin.message_user(request, _("%(count)d done.") % {"count": done}, messages.SUCCESS)
        return None
    with transaction.atomic():
        job = BulkJob.objects.create(
            operation=operation, object_ids=ids, params=params or {}, actor=actor, total=len(ids)
        )
        enqueue_on_commit("deletions.bulk_job", job.pk)
    return HttpResponseRedirect(reverse("admin:dataops_bulkjob_change", args=[job.pk]))


def bulk_job_run(*, job_id: int) -> BulkJob | None:
    """Work through a job in chunks; safe to run twice (each operation is idempotent).

    The job is claimed first with a conditional UPDATE and a lease that each chunk
    renews: a second message for the same job finds it claimed and does nothing, and
    a job whose worker died is claimed again once its lease runs out (the sweeper
    queues it), carrying on from the rows it had not reached.
    """
    now = timezone.now()
    claimable = Q(state=BulkJob.State.QUEUED) | Q(state=BulkJob.State.RUNNING, claimed_until__lt=now)
    if not BulkJob.objects.filter(claimable, pk=job_id).update(state=BulkJob.State.RUNNING, claimed_until=now + LEASE):
        return BulkJob.objects.filter(pk=job_id).first()  # done, or another worker holds it
    job = BulkJob.objects.get(pk=job_id)
    model, run = _operations()[job.operation]
    remaining = job.object_ids[job.done + job.failed :]
    for start in range(0, len(remaining), CHUNK):
        done = failed = 0
        for obj in model.objects.filter(pk__in=remaining[start : start + CHUNK]):
            try:
                run(obj, job.actor, job.params)
                done += 1
            except ValidationError:
                failed += 1
        BulkJob.objects.filter(pk=job.pk).update(
            done=F("done") + done, failed=F("failed") + failed, claimed_until=timezone.now() + LEASE
        )
    BulkJob.objects.filter(pk=job.pk).update(state=BulkJob.State.DONE, claimed_until=None)
    job.refresh_from_db()
    return job
