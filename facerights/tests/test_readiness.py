"""/healthz answers while the process lives; /readyz only while the database, broker and schema are ready."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from facerights import readiness
from tests.netfault import TcpProxy


def _ready(client):
    response = client.get("/readyz")
    return response.status_code, response.json()["checks"]


@pytest.mark.django_db
def test_ready_when_everything_answers(client):
    status, checks = _ready(client)
    assert status == 200
    assert checks == {"database": "ok", "migrations": "ok", "broker": "ok"}
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_not_ready_while_the_broker_is_down_and_ready_again_when_it_returns(client, settings):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("the embedded filesystem broker has no server to lose (set CELERY_BROKER_URL to Redis)")
    url = urlsplit(settings.CELERY_BROKER_URL)
    proxy = TcpProxy(url.hostname, url.port or 6379).restore()
    settings.CELERY_BROKER_URL = urlunsplit(url._replace(netloc=f"127.0.0.1:{proxy.port}"))
    try:
        assert _ready(client)[0] == 200
        proxy.cut()
        status, checks = _ready(client)
        assert status == 503
        assert checks["broker"].startswith("broker unavailable")
        assert checks["database"] == "ok"
        proxy.restore()
        assert _ready(client) == (200, {"database": "ok", "migrations": "ok", "broker": "ok"})
    finally:
        proxy.cut()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_not_ready_while_the_database_is_down_and_ready_again_when_it_returns(client):
    real = dict(connection.settings_dict)
    proxy = TcpProxy(real["HOST"] or "127.0.0.1", int(real["PORT"] or 5432)).restore()
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(proxy.port))
    try:
        assert _ready(client)[0] == 200
        proxy.cut()
        status, checks = _ready(client)
        assert status == 503
        assert checks["database"].startswith("database unavailable")
        assert checks["migrations"] == "unknown (no database)"
        assert "password" not in str(checks) and str(proxy.port) not in str(checks)
        proxy.restore()
        assert _ready(client)[0] == 200
    finally:
        proxy.cut()
        connection.close()
        connection.settings_dict.update(HOST=real["HOST"], PORT=real["PORT"])


@pytest.mark.django_db
def test_not_ready_while_a_migration_is_not_applied(client, monkeypatch):

    monkeypatch.setattr(readiness, "_migrations_applied", False)  # a process started before the deploy

    newest = next(node for node in MigrationLoader(connection).graph.leaf_nodes() if node[0] == "dataops")
    MigrationRecorder(connection).record_unapplied(*newest)  # as if the deploy had not migrated; rolled back
    status, checks = _ready(client)
    assert status == 503
    assert checks["migrations"] == "1 migrations not applied"
