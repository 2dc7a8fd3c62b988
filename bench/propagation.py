"""Propagation benchmarks (issue 4): latency to three push systems, a burst of 1,000, a mass deletion.

    .venv/bin/python bench/propagation.py [--mass 100000] [--skip-mass]

Runs on its own PostgreSQL database and Redis database (bench/common.py), with a
real Celery worker (prefork, 2 processes) and the simulator in a separate process.
Prints its figures; docs/benchmarks.md records them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from consent.models import DataSubject  # noqa: E402
from dataops.deletions.opening import deletion_request_open, deletion_requests_open  # noqa: E402
from dataops.models import DeletionRequest, Holding, ProcessingSystem  # noqa: E402
from dataops.registry.credentials import credential_issue  # noqa: E402
from facerights import crypto  # noqa: E402
from tests import factories  # noqa: E402

PORT = 9201
WEB_PORT = 8100


def load_subjects(count: int, systems: list[ProcessingSystem], offset: int = 0) -> list[int]:
    """Bulk-load subjects holding data in every system (set-up, not measured)."""
    now = timezone.now()
    ids = []
    for start in range(0, count, 5000):
        batch = [DataSubject(wrapped_key=crypto.data_key_new()[1]) for _ in range(min(5000, count - start))]
        DataSubject.objects.bulk_create(batch, batch_size=5000)
        Holding.objects.bulk_create(
            [
                Holding(
                    subject=subject,
                    system=system,
                    subject_key=f"B{system.pk}-{offset + start + n}",
                    data_kind="template",
                    enrolled_at=now,
                    retention_until=now.date(),
                )
                for n, subject in enumerate(batch)
                for system in systems
            ],
            batch_size=10000,
        )
        ids.extend(subject.pk for subject in batch)
    return ids


def wait_completed(ids: list[int], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not DeletionRequest.objects.filter(pk__in=ids).exclude(state="completed").exists():
            return time.monotonic()
        time.sleep(0.05)
    raise TimeoutError(f"{DeletionRequest.objects.filter(pk__in=ids).exclude(state='completed').count()} not completed")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mass", type=int, default=100_000, help="subjects in the mass deletion")
    parser.add_argument("--skip-mass", action="store_true")
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    common.flush_broker()
    entity, purpose = factories.entity(), factories.purpose()
    systems, specs = [], []
    for n in range(5):
        system = factories.active_system(
            entity=entity,
            purpose=purpose,
            integration="push",
            webhook_url=f"http://127.0.0.1:{PORT + n}/webhook",
            is_internal=True,
        )
        secret = credential_issue(actor="bench", system=system, kind="webhook_secret")
        systems.append(system)
        specs.append({"system_id": system.pk, "name": f"bench-{n}", "kind": "push", "port": PORT + n, "secret": secret})
    device, token = factories.pull_system(entity=entity, purpose=purpose)
    specs.append({"system_id": device.pk, "name": "bench-device", "kind": "pull", "token": token, "poll_seconds": 1})
    mass_systems = [systems[3], systems[4], device]
    config = Path(common.ENV["FACERIGHTS_VAR_DIR"]) / "simulator.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    for path in (config.parent / "simulator").glob("*.sqlite3*"):
        path.unlink()
    config.write_text(json.dumps({"portal": f"http://127.0.0.1:{WEB_PORT}", "systems": specs}))
    subjects = load_subjects(1200, systems[:3])
    mass_subjects = [] if args.skip_mass else load_subjects(args.mass, mass_systems, offset=10_000_000)
    connection.close()
    web = common.start_gunicorn(WEB_PORT, 2, wait=0)
    simulator = common.start([sys.executable, "-m", "simulator", "--config", str(config)])
    workers = common.start_workers(concurrency=2)
    try:
        # (a) one subject's deletion to three push systems, 200 times in a row
        latencies = []
        for subject_id in subjects[:200]:
            deletion = deletion_request_open(
                actor="bench", subject=DataSubject(pk=subject_id), trigger="subject_request"
            )
            wait_completed([deletion.pk], 30)
            deletion.refresh_from_db()
            latencies.append((deletion.completed_at - deletion.created_at).total_seconds())
        print(
            f"(a) one deletion to 3 push systems, 200 requests: p50 {common.percentile(latencies, 50) * 1000:.0f} ms, "
            f"p95 {common.percentile(latencies, 95) * 1000:.0f} ms (target p95 < 1000 ms)"
        )
        # (b) 1,000 requests at once (opened in bulk, as a DPO's bulk action or a retention sweep does)
        started = time.monotonic()
        ids = [
            d.pk
            for d in deletion_requests_open(actor="bench", subject_ids=subjects[200:1200], trigger="subject_request")
        ]
        submitted = time.monotonic() - started
        finished = wait_completed(ids, 300)
        print(
            f"(b) 1,000 requests to 3 push systems: all confirmed {finished - started:.1f} s after the first "
            f"(submitting took {submitted:.1f} s) (target < 10 s)"
        )
        if not args.skip_mass:
            mass(mass_subjects, args.mass)
    finally:
        common.stop(workers, simulator, web)


def mass(subject_ids: list[int], count: int) -> None:
    started = time.monotonic()
    ids = [d.pk for d in deletion_requests_open(actor="bench", subject_ids=subject_ids, trigger="recognition_ended")]
    opened = time.monotonic() - started
    finished = wait_completed_bulk(ids, 1800)
    print(
        f"(c) mass deletion of {count:,} subjects across 3 systems (2 push, batched, and 1 pull device): "
        f"all confirmed after {finished - started:.1f} s (opening took {opened:.1f} s) (target < 120 s)"
    )


def wait_completed_bulk(ids: list[int], timeout: float) -> float:
    deadline = time.monotonic() + timeout
    low, high = min(ids), max(ids)
    while time.monotonic() < deadline:
        if not DeletionRequest.objects.filter(pk__gte=low, pk__lte=high).exclude(state="completed").exists():
            return time.monotonic()
        time.sleep(0.5)
    raise TimeoutError("mass deletion did not complete")


if __name__ == "__main__":
    main()
