"""Admin actions on many rows: done at once for a few, by a Celery job with progress for thousands."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _

from facerights.audit import actor_for
from facerights.celery import enqueue_on_commit

from .models import BulkJob, Propagation, Request

INLINE_LIMIT = 200
CHUNK = 100


def _operations() -> dict[str, tuple[type, Callable]]:
    from .deletion import propagation_escalate, propagation_retry_now
    from .services import request_complete

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
    from .tasks import bulk_job_task

    with transaction.atomic():
        job = BulkJob.objects.create(
            operation=operation, object_ids=ids, params=params or {}, actor=actor, total=len(ids)
        )
        enqueue_on_commit(bulk_job_task, job.pk)
    return HttpResponseRedirect(reverse("admin:dataops_bulkjob_change", args=[job.pk]))


def bulk_job_run(*, job_id: int) -> BulkJob | None:
    """Work through a job in chunks; safe to run twice (each operation is idempotent)."""
    job = BulkJob.objects.filter(pk=job_id).first()
    if job is None or job.state == BulkJob.State.DONE:
        return job
    model, run = _operations()[job.operation]
    BulkJob.objects.filter(pk=job.pk).update(state=BulkJob.State.RUNNING)
    remaining = job.object_ids[job.done + job.failed :]
    for start in range(0, len(remaining), CHUNK):
        done = failed = 0
        for obj in model.objects.filter(pk__in=remaining[start : start + CHUNK]):
            try:
                run(obj, job.actor, job.params)
                done += 1
            except ValidationError:
                failed += 1
        BulkJob.objects.filter(pk=job.pk).update(done=F("done") + done, failed=F("failed") + failed)
    BulkJob.objects.filter(pk=job.pk).update(state=BulkJob.State.DONE)
    job.refresh_from_db()
    return job
