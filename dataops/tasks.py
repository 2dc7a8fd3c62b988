"""The Celery tasks of `dataops`, gathered from its capabilities for Celery's autodiscovery.

Each capability keeps its tasks (`deletions/tasks.py`, ...); Celery looks for an app's tasks
in `<app>.tasks`, so this module imports them. Nothing sends a task by importing it:
work is sent by name through `facerights.queues` ("deletions.deliver", ...).
"""

from .copies import tasks as copies_tasks
from .deletions import tasks as deletions_tasks
from .filings import tasks as filings_tasks
from .incidents import tasks as incidents_tasks
from .registry import tasks as registry_tasks
from .requests import tasks as requests_tasks
from .workbench import tasks as workbench_tasks

__all__ = [
    "copies_tasks",
    "deletions_tasks",
    "filings_tasks",
    "incidents_tasks",
    "registry_tasks",
    "requests_tasks",
    "workbench_tasks",
]
