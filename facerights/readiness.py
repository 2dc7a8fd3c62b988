"""Is this process ready to serve? The database, the broker and the schema, each checked briefly.

/healthz says the process answers; /readyz says it can do its work. A load
balancer sends traffic only to ready processes, and an operator's first look
after a deploy or an outage is here (`make prod-check` calls it too).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import cast

import redis
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.migrations.executor import MigrationExecutor

TIMEOUT_SECONDS = 2

_migrations_applied = False  # once true it stays true until the next deploy restarts the process


def database_ready() -> str | None:
    """None when a query answers; otherwise why not (no host names or credentials)."""
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # A server that accepts the connection but never answers must not hang the probe.
                cursor.execute(f"SET LOCAL statement_timeout = {TIMEOUT_SECONDS * 1000}")
            cursor.execute("SELECT 1")
    except Exception as exc:
        with contextlib.suppress(Exception):  # already broken; the next request reconnects
            connection.close()
        return f"database unavailable ({type(exc).__name__})"
    return None


def migrations_ready() -> str | None:
    global _migrations_applied
    if _migrations_applied:
        return None
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return f"migrations unknown ({type(exc).__name__})"
    if plan:
        return f"{len(plan)} migrations not applied"
    _migrations_applied = True
    return None


def broker_ready() -> str | None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS)
            client.ping()
            client.close()
        except redis.RedisError as exc:
            return f"broker unavailable ({type(exc).__name__})"
        return None
    # A str: the settings give the filesystem broker its folders as strings.
    folder = Path(cast(str, settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]))
    if not folder.is_dir():
        return "broker folder missing"
    return None


def readiness() -> dict[str, str]:
    """Each component's state: "ok" or the reason it is not."""
    database = database_ready()
    checks = {
        "database": database or "ok",
        # The schema cannot be read without the database: say so rather than time out twice.
        "migrations": (migrations_ready() or "ok") if database is None else "unknown (no database)",
        "broker": broker_ready() or "ok",
    }
    return checks
