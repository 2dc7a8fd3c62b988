"""Celery is set up for reliability; a real worker runs tasks only for committed work."""

import threading

import pytest
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import connection, transaction

from dataops.models import Request
from dataops.requests.services import request_submit
from facerights.celery import app
from facerights.queues import QUEUE_KINDS
from tests import factories
from tests.waiting import wait_for

OUR_PACKAGES = ("facerights.", "consent.", "dataops.", "portal.")


def _ours() -> dict:
    """The project's tasks, by name (their names are short, "<capability>.<what>"; their modules are ours)."""
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if type(task).__module__.startswith(OUR_PACKAGES)}


def test_reliability_settings():
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and list(conf.accept_content) == ["json"]
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_every_task_has_a_time_limit_within_the_visibility_timeout():
    ours = _ours()
    assert ours, "no project tasks registered"
    visibility = 2 * 60 * 60
    for name, task in ours.items():
        limit = task.time_limit or app.conf.task_time_limit
        assert limit, name
        assert limit < visibility, name


def test_the_redis_visibility_timeout_outlasts_any_task():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("only the Redis transport has a visibility timeout (the broker here is the embedded default)")
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > app.conf.task_time_limit


class _Ran:
    """Records the arguments of every task the in-process worker starts."""

    def __init__(self):
        self.calls = []
        self.lock = threading.Lock()

    def __call__(self, sender=None, args=None, **kwargs):
        with self.lock:
            self.calls.append((sender.name, tuple(args or ())))


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_a_task_sent_after_commit_and_sees_the_row(celery_worker):
    subject = factories.subject(phone="13700137000")
    request = request_submit(actor="test", subject=subject, type=Request.Type.ACCESS)
    assert wait_for(lambda: Request.objects.get(pk=request.pk).acknowledged_at is not None)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_task_sent_inside_a_rolled_back_transaction_never_runs(celery_worker):
    ran = _Ran()
    task_prerun.connect(ran, weak=False)
    try:
        subject = factories.subject(phone="13700137001")

        class Abort(Exception):
            pass

        with pytest.raises(Abort), transaction.atomic():
            doomed = request_submit(actor="test", subject=subject, type=Request.Type.ACCESS)
            raise Abort
        kept = request_submit(actor="test", subject=subject, type=Request.Type.COPY)
        # The queue is FIFO with prefetch 1: once the later task has run, an earlier one would have too.
        assert wait_for(lambda: Request.objects.get(pk=kept.pk).acknowledged_at is not None)
        acknowledged = [args[0] for name, args in ran.calls if name == "requests.acknowledge"]
        # Exactly one: the committed request's (SQLite may even reuse the rolled-back row's id).
        assert acknowledged == [kept.pk]
        assert Request.objects.filter(reference=doomed.reference).count() == 0
    finally:
        task_prerun.disconnect(ran)


def test_every_task_names_its_queue_and_deletions_never_wait_behind_documents_or_messages():
    ours = _ours()
    undeclared = [name for name, task in ours.items() if getattr(task, "queue_kind", None) not in QUEUE_KINDS]
    assert not undeclared, f"tasks without queue_kind: {undeclared}"

    def queue_of(name):
        return app.amqp.router.route({}, name, (), {}, app.tasks[name])["queue"].name

    assert queue_of("deletions.dispatch") == "delivery"
    assert queue_of("deletions.deliver") == "delivery"
    assert queue_of("deletions.sweep") == "delivery"
    assert queue_of("incidents.escalate") == "delivery"  # a report due in 30 minutes waits for nothing
    # A burst of 1,000 withdrawals sends 1,000 acknowledgements: never in front of the deletions themselves.
    assert queue_of("requests.acknowledge") == "messages"
    assert queue_of("deletions.notify_completed") == "messages"
    assert queue_of("incidents.notices_deliver") == "messages"
    assert queue_of("filings.build_document") == "documents"
    assert queue_of("copies.build") == "documents"
    assert queue_of("deletions.retention_enforce") == "housekeeping"


def test_a_prefix_keeps_two_deployments_apart(settings):
    settings.FACERIGHTS_QUEUE_PREFIX = "hotel-"
    route = app.amqp.router.route({}, "deletions.dispatch", (), {}, app.tasks["deletions.dispatch"])
    assert route["queue"].name == "hotel-delivery"


@pytest.mark.worker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_between_tasks_and_replaces_a_broken_one(celery_worker):
    """Celery's Django fix-up closed the connection after every task: a new PostgreSQL session per task."""
    sessions = []

    def seen(**kwargs):  # in the worker's thread, after the task (and after the fix-up's own handler)
        from django.db import connection as worker_connection

        if worker_connection.connection is not None:
            sessions.append(worker_connection.connection.info.backend_pid)

    task_postrun.connect(seen, weak=False)
    try:
        subject = factories.subject(phone="13700137002")

        def acknowledged(kind):
            request = request_submit(actor="test", subject=subject, type=kind)
            assert wait_for(lambda: Request.objects.get(pk=request.pk).acknowledged_at is not None)

        acknowledged(Request.Type.ACCESS)
        acknowledged(Request.Type.COPY)
        assert len(sessions) >= 2 and sessions[-1] == sessions[-2]  # the same session, kept
        dropped = sessions[-1]
        with connection.cursor() as cursor:  # the database drops it (a restart, a failover)
            cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
        acknowledged(Request.Type.CORRECTION)  # the next task still runs, on a new session
        assert sessions[-1] != dropped
    finally:
        task_postrun.disconnect(seen)
