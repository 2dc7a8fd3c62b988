"""Sending work to Celery: by task name, to the queue of the task's kind, after commit.

Services never import tasks: they name the work (`enqueue_on_commit("deletions.deliver", ids)`)
and this module finds the task, so a service module and the tasks that call it never import
each other. A name that no task carries raises at once (`NotRegistered`), in tests too.

Four queues, by kind of work, so a slow document never delays a deletion and a burst of
messages never queues in front of one:
- delivery: instructions to processing systems (deletions, withdrawals) and incident escalations,
  whose legal clocks run in minutes;
- messages: acknowledgements, notices and reminders to people, and alerts to the officer;
- documents: filings, copies of a person's data, record exports (PDFs, minutes of CPU);
- housekeeping: daily counts, retention, shredding, checks.
A task names its kind with `queue_kind=...` in its decorator.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from celery import current_app as app
from celery.exceptions import NotRegistered
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

QUEUE_KINDS = ("delivery", "messages", "documents", "housekeeping")

logger = logging.getLogger(__name__)


def queue_name(kind: str) -> str:
    """The broker's name for a queue kind: CELERY_QUEUE_PREFIX lets two deployments share a Redis."""
    if kind not in QUEUE_KINDS:
        raise ValueError(f"unknown queue kind {kind!r}")
    return settings.FACERIGHTS_QUEUE_PREFIX + kind


def route_task(
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    task: Task | None = None,
    **kw: Any,
) -> dict[str, str]:
    """Celery router: each task to the queue of its kind (an explicit queue= still wins)."""
    kind = getattr(task, "queue_kind", None) or "housekeeping"  # ours all name one (facerights/tests/test_celery.py)
    return {"queue": queue_name(kind)}


def task_named(name: str) -> Task:
    """The registered task called `name`; the apps' task modules are imported on first use."""
    try:
        return app.tasks[name]
    except NotRegistered:
        app.loader.import_default_modules()  # a web process imports the task modules only when it first sends
        return app.tasks[name]


def enqueue(name: str, *args: Any) -> bool:
    """Queue the task called `name`; if the broker is down, log it and return False instead of raising.

    Work is queued after its transaction commits, so raising here would show a
    person an error for something that was in fact recorded. Nothing is lost: each
    kind of work is also found in the database by a sweeper on beat (propagations,
    acknowledgements, queued copies, exports, bulk jobs and filing documents).
    """

    task = task_named(name)
    try:
        task.delay(*args)
    except (OperationalError, OSError) as exc:
        logger.warning(
            "broker unavailable: %s not queued now, the sweeper will queue it (%s)", name, type(exc).__name__
        )
        return False
    return True


def enqueue_on_commit(name: str, *args: Any) -> None:
    """`enqueue` once the current transaction commits (at once outside a transaction).

    The name is checked now, so a misspelt one fails in the code that sent it.
    """
    task_named(name)
    transaction.on_commit(lambda: enqueue(name, *args))
