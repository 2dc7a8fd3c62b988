"""Worker and beat liveness on the DPO's dashboard, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from facerights.models import Heartbeat
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]


pytestmark = [pytest.mark.worker, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _celery(*args: str, prefix: str) -> subprocess.Popen:
    env = dict(os.environ)
    db = connection.settings_dict  # the test database, which the processes must share
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
        CELERY_QUEUE_PREFIX=prefix,
        FACERIGHTS_HEARTBEAT_SECONDS="1",
        FACERIGHTS_VAR_DIR=str(settings.VAR_DIR),
        DEBUG="false",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "facerights", *args, "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_the_dashboard_shows_a_killed_worker_as_silent_and_a_stopped_beat(dpo_client, tmp_path):
    prefix = f"live-{uuid.uuid4().hex[:8]}-"
    name = f"delivery-{uuid.uuid4().hex[:6]}@test"
    worker = _celery("worker", "--pool=solo", "-Q", f"{prefix}delivery", "-n", name, prefix=prefix)
    beat = _celery("beat", "--schedule", str(tmp_path / "beat-schedule"), prefix=prefix)
    try:
        assert wait_for(lambda: Heartbeat.objects.filter(name=name).exists()), "the worker never reported"
        assert wait_for(lambda: Heartbeat.objects.filter(kind="beat", stopped_at=None).exists()), "beat never reported"
        page = dpo_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
        assert name in page and f"{prefix}delivery" in page
        assert "The scheduler (beat) is not running" not in page
        assert "have gone silent" not in page

        worker.send_signal(signal.SIGKILL)  # no goodbye: only its silence tells
        worker.wait(10)
        assert wait_for(  # three missed beats
            lambda: (
                f"These workers have gone silent: {name}"
                in dpo_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
            ),
            15,
        )

        beat.send_signal(signal.SIGTERM)
        beat.wait(20)
        assert wait_for(lambda: not Heartbeat.objects.filter(kind="beat", stopped_at=None).exists(), 10) or wait_for(
            lambda: (
                "The scheduler (beat) is not running"
                in dpo_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
            ),
            10,
        )
        page = dpo_client.get(reverse("admin:index"), headers={"Accept-Language": "en"}).content.decode()
        assert "The scheduler (beat) is not running" in page
    finally:
        for process in (worker, beat):
            process.kill()
            process.wait(10)
