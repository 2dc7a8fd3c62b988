"""The Celery app: queues by kind of work, request ids across processes, liveness of workers and beat.

Three queues, so a slow document never delays a deletion:
- delivery: instructions to processing systems and messages to people, whose legal clocks run;
- documents: filings, copies of a person's data, evidence bundles (PDFs, minutes of CPU);
- housekeeping: daily counts, retention, shredding, checks.
A task names its queue with `queue_kind=...` in its decorator; unnamed ones go to housekeeping.
Production runs a worker per queue (docs/deployment.md); `make run` runs one worker for all three.
"""

import contextlib
import os

from celery import Celery
from celery.signals import beat_init, before_task_publish, task_postrun, task_prerun, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerights.settings")

QUEUE_KINDS = ("delivery", "documents", "housekeeping")

app = Celery("facerights")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def queue_name(kind: str) -> str:
    """The broker's name for a queue kind: CELERY_QUEUE_PREFIX lets two deployments share a Redis."""
    from django.conf import settings

    return settings.FACERIGHTS_QUEUE_PREFIX + kind


def route_task(name, args, kwargs, options, task=None, **kw):
    """Celery router: each task to the queue of its kind (an explicit queue= still wins)."""
    kind = getattr(task, "queue_kind", None) or "housekeeping"
    if kind not in QUEUE_KINDS:
        raise ValueError(f"task {name}: unknown queue kind {kind!r}")
    return {"queue": queue_name(kind)}


# --- Request ids (facerights.logs) ---------------------------------------------------


@before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    from .logs import request_id_get

    if headers is not None and request_id_get():
        headers.setdefault("request_id", request_id_get())


_tokens = {}


@task_prerun.connect
def _receive_request_id(task_id=None, task=None, **kwargs):
    from .logs import request_id_new, request_id_set

    request_id = getattr(task.request, "request_id", None) or (task.request.headers or {}).get("request_id")
    _tokens[task_id] = request_id_set(request_id or request_id_new())


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs):
    from .logs import request_id_reset

    token = _tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context (a thread pool): nothing to restore
            request_id_reset(token)


# --- Liveness (facerights.liveness) ---------------------------------------------------


@worker_ready.connect
def _worker_beating(sender=None, **kwargs):
    from .liveness import heartbeat_start

    queues = sorted(queue.name for queue in sender.app.amqp.queues.consume_from.values())
    heartbeat_start(kind="worker", name=sender.hostname, detail=",".join(queues))


@worker_shutdown.connect
def _worker_stopping(sender=None, **kwargs):
    from .liveness import heartbeat_stop

    heartbeat_stop(getattr(sender, "hostname", None))


@beat_init.connect
def _beat_beating(sender=None, **kwargs):
    """Beat reports under its host and process id, so a second beat, even on the same host, shows."""
    import atexit
    import socket

    from .liveness import heartbeat_start, heartbeat_stop

    name = f"beat@{socket.gethostname()}:{os.getpid()}"
    heartbeat_start(kind="beat", name=name, detail="")
    atexit.register(heartbeat_stop, name)  # a clean stop shows as stopped, not silent


# --- Sending work ------------------------------------------------------------------------


def enqueue(task, *args) -> bool:
    """Queue a task; if the broker is down, say so in the log and return False instead of raising.

    Work is queued after its transaction commits, so raising here would show a
    person an error for something that was in fact recorded. Nothing is lost: each
    kind of work is also found in the database by a sweeper on beat (propagations,
    acknowledgements, queued copies, exports, bulk jobs and filing documents).
    """
    import logging

    from kombu.exceptions import OperationalError

    try:
        task.delay(*args)
    except (OperationalError, OSError) as exc:
        logging.getLogger(__name__).warning(
            "broker unavailable: %s not queued now, the sweeper will queue it (%s)", task.name, type(exc).__name__
        )
        return False
    return True


def enqueue_on_commit(task, *args) -> None:
    """`enqueue` once the current transaction commits (at once outside a transaction)."""
    from django.db import transaction

    transaction.on_commit(lambda: enqueue(task, *args))
