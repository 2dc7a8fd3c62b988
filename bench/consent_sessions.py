"""Consent at capture benchmark (issue 19): whole consents per second, from the device's session to its enrolment.

    .venv/bin/python bench/consent_sessions.py [--people 300] [--threads 4]

Each flow is what a lobby sees for one guest: the kiosk opens a session (API), the guest's phone
opens the page and sends a consent (the portal page, with its CSRF token), the kiosk reads the
outcome and enrols with the token (API). Flows run in threads through Django's own request
handling in this process (no network server), on PostgreSQL. Its own database:
facerights_bench_capture. The target is a busy lobby's peak, 50 a second, with headroom.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/facerights_bench_capture")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import common  # noqa: E402

common.environment()
import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from dataops.models import ProcessingSystem  # noqa: E402
from tests import factories  # noqa: E402


def flow(token: str, purpose: str, key: str) -> float:
    started = time.perf_counter()
    api = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    opened = api.post(
        "/api/v1/consent-sessions", {"purpose": purpose, "subject_key": key}, content_type="application/json"
    ).json()
    phone = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    path = urlsplit(opened["url"]).path
    page = phone.get(path).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    version = re.search(r'name="notice_version" value="(\d+)"', page).group(1)
    phone.post(
        path,
        {"csrfmiddlewaretoken": csrf, "notice_version": version, "answer": "consent", "date_of_birth": "1988-08-08"},
        HTTP_REFERER=f"https://localhost{path}",
        secure=True,
    )
    outcome = api.get(f"/api/v1/consent-sessions/{opened['id']}").json()
    enrolled = api.post(
        "/api/v1/holdings",
        {
            "subject_key": key,
            "data_kind": "template",
            "enrolled_at": "2026-12-05T10:00:00+08:00",
            "identifiers": {"external": key},
            "purpose": purpose,
            "consent_token": outcome["consent_token"],
        },
        content_type="application/json",
    )
    assert enrolled.status_code == 201, enrolled.content
    connection.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    print(f"machine: {common.machine()}")
    common.fresh_database()
    entity, purpose = factories.entity(), factories.purpose()
    system, token = factories.pull_system(entity=entity, purpose=purpose)
    ProcessingSystem.objects.filter(pk=system.pk).update(consent_at_capture=True)
    connection.close()
    flow(token, purpose.code, "WARM-UP")
    durations: list[float] = []
    lock = threading.Lock()
    keys = iter(range(args.people))

    def worker() -> None:
        for n in keys:
            took = flow(token, purpose.code, f"GUEST-{n}")
            with lock:
                durations.append(took)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    durations.sort()
    print(
        f"{len(durations)} consents (open, page, answer, outcome, enrol) in {elapsed:.1f} s with {args.threads} threads"
    )
    print(f"consents completed per second: {len(durations) / elapsed:.1f} (target: 50)")
    print(
        f"one consent: p50 {statistics.median(durations) * 1000:.0f} ms, "
        f"p95 {durations[int(0.95 * (len(durations) - 1))] * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
