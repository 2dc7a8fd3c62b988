"""The Celery app: request ids across processes, liveness of workers and beat.

Queues and sending work by name are in `facerights.queues`. Production runs a worker per
queue (docs/deployment.md); `make run` runs one worker for all four.

This module is imported by `facerights/__init__.py` before Django is set up, so the signal
handlers below import liveness, which writes rows, inside themselves.
"""

import atexit
import contextlib
import os
import socket

from celery import Celery
from celery.signals import beat_init, before_task_publish, task_postrun, task_prerun, worker_ready, worker_shutdown

from .logs import request_id_get, request_id_new, request_id_reset, request_id_set

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "facerights.settings")

app = Celery("facerights")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# --- Request ids (facerights.logs) ---------------------------------------------------


@before_task_publish.connect
def _send_request_id(headers=None, **kwargs):
    if headers is not None and request_id_get():
        headers.setdefault("request_id", request_id_get())


_tokens = {}


@task_prerun.connect
def _receive_request_id(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, "request_id", None) or (task.request.headers or {}).get("request_id")
    _tokens[task_id] = request_id_set(request_id or request_id_new())


@task_postrun.connect
def _forget_request_id(task_id=None, **kwargs):
    token = _tokens.pop(task_id, None)
    if token is not None:
        with contextlib.suppress(ValueError):  # set in another context (a thread pool): nothing to restore
            request_id_reset(token)


# --- Database connections -------------------------------------------------------------


@task_prerun.connect
def _connection_checked(**kwargs):
    """Before each task, what Django does before each request: a connection past CONN_MAX_AGE, or one that
    failed, is closed and the task opens a new one; a healthy one is reused (CELERY_DB_REUSE_MAX)."""
    from django.db import close_old_connections

    close_old_connections()


# --- Liveness (facerights.liveness) ---------------------------------------------------


@worker_ready.connect
def _worker_beating(sender=None, **kwargs):
    from .liveness import heartbeat_start  # liveness writes rows: models load only once Django is set up

    queues = sorted(queue.name for queue in sender.app.amqp.queues.consume_from.values())
    heartbeat_start(kind="worker", name=sender.hostname, detail=",".join(queues))


@worker_shutdown.connect
def _worker_stopping(sender=None, **kwargs):
    from .liveness import heartbeat_stop  # liveness writes rows: models load only once Django is set up

    heartbeat_stop(getattr(sender, "hostname", None))


@beat_init.connect
def _beat_beating(sender=None, **kwargs):
    """Beat reports under its host and process id, so a second beat, even on the same host, shows."""
    from .liveness import heartbeat_start, heartbeat_stop  # models load only once Django is set up

    name = f"beat@{socket.gethostname()}:{os.getpid()}"
    heartbeat_start(kind="beat", name=name, detail="")
    atexit.register(heartbeat_stop, name)  # a clean stop shows as stopped, not silent
