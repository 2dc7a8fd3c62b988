"""Are the workers and beat alive? Each writes a heartbeat row; readers judge by its age.

Liveness is reported by the process itself, through the database every web
process can read, so it works the same with one machine or ten and needs no
Celery remote control (which the embedded filesystem broker lacks).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path
from typing import cast

import redis
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from .models import Heartbeat
from .queues import QUEUE_KINDS, queue_name

logger = logging.getLogger(__name__)

_threads: dict[str, tuple[threading.Thread, threading.Event]] = {}


FORGET_AFTER = dt.timedelta(days=7)


def heartbeat_beat(*, kind: str, name: str, detail: str, started_at: dt.datetime | None = None) -> None:
    """Write this process's row. `started_at` marks its first beat, which also forgets the rows
    of processes gone for a week (a retired host, an old beat)."""
    now = timezone.now()
    if started_at is not None:
        Heartbeat.objects.filter(last_seen_at__lt=now - FORGET_AFTER).delete()
    state = {
        "kind": kind,
        "detail": detail[:255],
        "pid": os.getpid(),
        "last_seen_at": now,
        "interval_seconds": settings.FACERIGHTS_HEARTBEAT_SECONDS,
        "stopped_at": None,
    }
    Heartbeat.objects.update_or_create(
        name=name,
        defaults={**state, **({"started_at": started_at} if started_at else {})},
        create_defaults={**state, "started_at": started_at or now},
    )


def heartbeat_start(*, kind: str, name: str, detail: str) -> None:
    """Start beating from a daemon thread of this process (once per name)."""
    if name in _threads:
        return
    stop = threading.Event()
    started_at = timezone.now()

    def run() -> None:
        first = True
        while True:
            try:
                close_old_connections()
                heartbeat_beat(kind=kind, name=name, detail=detail, started_at=started_at if first else None)
                first = False
            except Exception:  # the database may be down for a while: say so and keep trying
                logger.warning("heartbeat of %s not written", name, exc_info=True)
            if stop.wait(settings.FACERIGHTS_HEARTBEAT_SECONDS):
                break
        connection.close()

    thread = threading.Thread(target=run, name=f"heartbeat-{kind}", daemon=True)
    _threads[name] = (thread, stop)
    thread.start()


def heartbeat_stop(name: str | None) -> None:
    """A clean stop: the row says so, and the dashboard shows "stopped" rather than "silent"."""
    entry = _threads.pop(name, None) if name else None
    if entry is None:
        return
    thread, stop = entry
    stop.set()
    thread.join(timeout=5)
    try:
        close_old_connections()
        Heartbeat.objects.filter(name=name).update(stopped_at=timezone.now())
    except Exception:
        logger.warning("heartbeat of %s not marked stopped", name, exc_info=True)


def stale_after(beat: Heartbeat) -> dt.timedelta:
    """Three missed beats, at the pace the process itself announced: one slow write is not an outage."""
    return dt.timedelta(seconds=3 * beat.interval_seconds)


def heartbeats(now: dt.datetime | None = None) -> list[dict]:
    """Every process that ever beat, with its state: alive, silent (gone quiet) or stopped."""
    now = now or timezone.now()
    rows = []
    for beat in Heartbeat.objects.all():
        if beat.stopped_at:
            state = "stopped"
        elif now - beat.last_seen_at > stale_after(beat):
            state = "silent"
        else:
            state = "alive"
        rows.append({"beat": beat, "state": state, "age_seconds": (now - beat.last_seen_at).total_seconds()})
    return rows


def queue_depths() -> dict[str, int | None]:
    """Messages waiting in each queue, by kind; None when the broker cannot be asked."""
    url = settings.CELERY_BROKER_URL
    depths: dict[str, int | None] = {}
    if url.startswith(("redis://", "rediss://")):
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            for kind in QUEUE_KINDS:
                name = queue_name(kind)
                # kombu keeps priority levels in sibling lists named name\x06\x16<level>.
                keys = [name] + [f"{name}\x06\x16{level}" for level in (3, 6, 9)]
                depths[kind] = sum(client.llen(key) for key in keys)
            client.close()
        except redis.RedisError:
            return dict.fromkeys(QUEUE_KINDS)
        return depths

    # A str: the settings give the filesystem broker its folders as strings.
    folder = Path(cast(str, settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
    for kind in QUEUE_KINDS:
        depths[kind] = sum(1 for _ in folder.glob(f"*.{queue_name(kind)}.msg"))
    return depths
