"""`make prod-check`: what an operator sees before going live."""

from __future__ import annotations

import io
import secrets

import pytest
from django.core.management import call_command
from django.db import connection

from facerights.liveness import heartbeat_beat
from facerights.queues import QUEUE_KINDS


def _run() -> tuple[int, dict[str, str]]:
    out = io.StringIO()
    try:
        call_command("prod_check", stdout=out)
        status = 0
    except SystemExit as exc:
        status = exc.code
    lines = {}
    for line in out.getvalue().splitlines():
        state, _space, rest = line.partition(" ")
        if state in ("OK", "WARN", "FAIL"):
            name = rest.strip().split("  ")[0]
            lines[name] = f"{state} {rest.strip()[len(name) :].strip()}"
    return status, lines


@pytest.fixture
def live_like(settings, tmp_path):
    """The settings a production host would have, as far as a test can give them."""
    static = tmp_path / "static"
    for name in ("admin/css/base.css", "css/portal.css"):
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        (static / name).write_text("/* collected */")
    settings.STATIC_ROOT = static
    settings.FACERIGHTS_TOMBSTONE_DIR = tmp_path / "journal"
    settings.FACERIGHTS_BASE_URL = "https://facerights.example.com"
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.FACERIGHTS_SMS_BACKEND = "company.sms.GatewayBackend"
    settings.METRICS_TOKEN = "x" * 40
    settings.LOG_FORMAT = "json"
    settings.SECURE_SSL_REDIRECT = True  # the suite runs over plain HTTP; production does not
    settings.SECRET_KEY = secrets.token_urlsafe(50)
    return settings


@pytest.mark.django_db
def test_a_development_setup_fails_with_what_to_do(settings):
    settings.FACERIGHTS_BASE_URL = "http://localhost:8000"
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    settings.STATIC_ROOT = "/nonexistent/static"
    status, lines = _run()
    assert status == 1
    assert lines["FACERIGHTS_BASE_URL"].startswith("FAIL") and "https://" in lines["FACERIGHTS_BASE_URL"]
    assert lines["EMAIL_BACKEND"].startswith("FAIL")
    assert lines["static files"].startswith("FAIL") and "collectstatic" in lines["static files"]
    assert lines["beat"].startswith("WARN")  # nothing has started yet


@pytest.mark.django_db
def test_two_beats_fail_the_check(live_like):
    heartbeat_beat(kind="beat", name="beat@host-a", detail="")
    heartbeat_beat(kind="beat", name="beat@host-b", detail="")
    status, lines = _run()
    assert status == 1
    assert lines["beat"].startswith("FAIL 2 running")


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_ready_deployment_passes(live_like):
    if not live_like.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("production uses Redis; this run has the embedded broker")
    heartbeat_beat(kind="beat", name="beat@host-a", detail="")
    for kind in QUEUE_KINDS:
        heartbeat_beat(kind="worker", name=f"{kind}@host-a", detail=live_like.FACERIGHTS_QUEUE_PREFIX + kind)
    status, lines = _run()
    failures = {name: text for name, text in lines.items() if text.startswith("FAIL")}
    assert status == 0 and not failures, failures
    assert lines["database"] == "OK ok" and lines["broker"] == "OK ok" and lines["migrations"] == "OK ok"
    assert lines["queue delivery"] == "OK delivery@host-a"
    assert connection.vendor == "postgresql"
