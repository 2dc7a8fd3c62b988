"""Celery tasks of copies: build one, and destroy those past their download window."""

from __future__ import annotations

from celery import shared_task

from .services import export_build, exports_expire


@shared_task(name="copies.build", queue_kind="documents", time_limit=600, soft_time_limit=580)
def export_build_task(export_id: int) -> None:
    export_build(export_id=export_id)


@shared_task(name="copies.expire", queue_kind="housekeeping", time_limit=300, soft_time_limit=280)
def exports_expire_task() -> int:
    return exports_expire(actor="task:copies_expire")
