"""No deletion lost to a killed worker or a flushed broker."""

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from dataops.deletions.models import DeletionRequest, Propagation
from dataops.deletions.opening import deletion_request_open
from dataops.deletions.tasks import propagations_sweep
from facerights.queues import QUEUE_KINDS
from tests import factories
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[3]


pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _worker(queue: str) -> subprocess.Popen:
    env = dict(os.environ)
    db = connection.settings_dict  # the test database, which the worker must share
    env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
    env.update(
        CELERY_QUEUE_PREFIX=queue,
        FACERIGHTS_CLAIM_LEASE_SECONDS="2",
        FACERIGHTS_VAR_DIR=str(settings.VAR_DIR),
        DEBUG="false",
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "facerights",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _flush_broker(prefix: str) -> None:
    """Lose every message: the queues and the unacknowledged ones a dead worker held."""
    url = settings.CELERY_BROKER_URL
    queues = [prefix + kind for kind in QUEUE_KINDS]
    if url.startswith("redis"):
        client = redis.Redis.from_url(url)
        client.delete(*queues, "unacked", "unacked_index")
    else:
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        for queue in queues:
            for message in folder.glob(f"*.{queue}.msg"):
                message.unlink(missing_ok=True)


@pytest.mark.postgres
def test_a_killed_worker_and_a_flushed_broker_lose_no_deletion(simulated_push, settings):
    settings.FACERIGHTS_CLAIM_LEASE_SECONDS = 2
    queue = f"noloss-{uuid.uuid4().hex[:8]}-"  # the prefix of this test's queues
    settings.FACERIGHTS_QUEUE_PREFIX = queue
    entity, purpose = factories.entity(), factories.purpose()
    simulator = simulated_push(keys=[f"K{n}" for n in range(5)], delay=3.0)
    system = factories.push_system(entity=entity, purpose=purpose, simulator=simulator)
    deletions = []
    for n in range(5):
        subject = factories.subject(phone=f"1330000{n:04d}")
        factories.holding(subject, system, key=f"K{n}")
        deletions.append(deletion_request_open(actor="test", subject=subject, trigger="subject_request"))
    worker = _worker(queue)
    try:
        assert simulator.requests_seen.wait(60), "the worker never called the system"
        worker.send_signal(signal.SIGKILL)  # in the middle of the HTTP call
        worker.wait(10)
        _flush_broker(queue)
        assert Propagation.objects.exclude(state__in=Propagation.TERMINAL).exists()
        worker = _worker(queue)
        # The dead worker's lease runs out.
        assert wait_for(lambda: not Propagation.objects.filter(claimed_until__gt=timezone.now()).exists(), 15)
        simulator.delay = 0.0
        # Beat would run the sweeper every minute; here it is run by hand until done.
        done = lambda: all(DeletionRequest.objects.get(pk=d.pk).state == "completed" for d in deletions)  # noqa: E731
        assert wait_for(lambda: done() or (propagations_sweep() and False), timeout=90)
    finally:
        worker.kill()
        worker.wait(10)
    assert sorted(key for _id, key, outcome in simulator.store.effects()) == [f"K{n}" for n in range(5)]
    assert simulator.store.inventory() == []
